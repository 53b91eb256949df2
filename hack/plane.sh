#!/usr/bin/env bash
# Starts the local management plane for people: kube-apiserver, etcd, kube-controller-manager,
# Flux source-controller, the Cluster API managers (CAPD in-memory), a Git server, the EMCO
# emulator and the L-KaaS controller, with nothing pushed. It prints the KUBECONFIG and the
# addresses; Ctrl-C ends every process. The tests start the same plane from Go
# (internal/plane.StartManagementPlane).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
make --no-print-directory e2e-tools build
exec bin/lkaas demo --plane-only "$@"
