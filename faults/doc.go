// Package faults is the fault suite (issue 18, `make faults`): on the real local management
// plane (internal/plane) with the L-KaaS controller running as its own process, each case
// injects one fault at a chosen point of real work (a SIGKILL, a restart of kube-apiserver or
// etcd, source-controller down, a Git server refusing pushes, EMCO failing or hanging, the
// leader killed), lets the plane recover, and checks the invariants in invariants.go: nothing
// lost, nothing done twice, no member upgraded out of turn, no condition left wrong. The cases
// need the build tag `faults`; the invariants' own tests run in `make test`.
package faults
