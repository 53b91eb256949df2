// Package emco is a typed client for the parts of the LF Edge Multi-Cluster
// Orchestrator (EMCO) that L-KaaS uses to register clusters: the orchestrator
// (projects, the rsync controller entry), clm (cluster providers, clusters with
// their kubeconfig, labels, kv-pairs) and dcm (logical clouds, cluster references,
// user permissions and the instantiate/update/terminate life cycle).
//
// The client speaks the contract in emco-api.md: it always sends
// "Accept: application/json" on reads (EMCO answers 406 or 300 otherwise), uploads
// kubeconfigs raw as multipart, keeps EMCO's status code and plain-text message in
// *APIError, and retries only on 5xx and connection errors.
//
// The EnsureX operations read first and write only what differs, so a reconcile
// loop that calls them with an unchanged intent sends no write request at all.
package emco
