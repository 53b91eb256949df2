// Package emcotest is an in-process emulator of the EMCO orchestrator, clm and
// dcm REST services, for tests and the demo. It behaves as emco-api.md says real
// EMCO does, including its rough edges: 201 with text/plain on cluster create,
// 406/300 on a cluster GET without the right Accept header, 405 on cluster PUT,
// 409 on duplicates and on deletes that still have children or references,
// null for empty project and logical-cloud lists, 400 "No Cluster References
// associated" instead of an empty list, and the logical-cloud state machine
// with its stuck-after-last-reference pitfall.
//
// Tests get hooks real EMCO lacks: fault injection (latency, 5xx, dropped
// connections, per endpoint), a request log to count write requests, a copy of
// the stored state, and control over when instantiate/terminate finish.
package emcotest
