#!/usr/bin/env bash
# Builds the real binaries that tests and the demo run (kube-apiserver, etcd, ...) from the Go
# module proxy into a per-user cache, skipping any that is already there. Prints nothing on a
# warm cache but the directory, so `make` can use it:  hack/tools.sh [--print-dir] [tool...]
#
# Each tool is built from a small wrapper module under hack/tools/<module>/ whose go.mod pins
# the version, so the upstream module's own replace lines do not get in the way.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LKAAS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lkaas/bin}

KUBE_VERSION=v1.37.2
KUBE_LDFLAGS="-X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"

# name | wrapper module | version | package | ldflags
tools_table() {
	cat <<TABLE
kube-apiserver|kube|${KUBE_VERSION}|k8s.io/kubernetes/cmd/kube-apiserver|${KUBE_LDFLAGS}
kube-controller-manager|kube|${KUBE_VERSION}|k8s.io/kubernetes/cmd/kube-controller-manager|${KUBE_LDFLAGS}
etcd|etcd|v3.6.16|go.etcd.io/etcd/server/v3|
controller-gen|controller-gen|v0.23.0|sigs.k8s.io/controller-tools/cmd/controller-gen|
staticcheck|staticcheck|v0.8.2|honnef.co/go/tools/cmd/staticcheck|
helm|helm|v3.22.0|helm.sh/helm/v3/cmd/helm|
source-controller|source-controller|v1.9.6|github.com/fluxcd/source-controller|
kustomize-controller|kustomize-controller|v1.9.6|github.com/fluxcd/kustomize-controller|
capi-core|capi|v1.14.2|sigs.k8s.io/cluster-api/core|
capi-kubeadm-bootstrap|capi|v1.14.2|sigs.k8s.io/cluster-api/bootstrap/kubeadm|
capi-kubeadm-control-plane|capi|v1.14.2|sigs.k8s.io/cluster-api/controlplane/kubeadm|
capd|capi|v1.14.2|sigs.k8s.io/cluster-api/test/infrastructure/docker|
TABLE
}

# The tools `make tools` builds when none is named; kube-controller-manager, source-controller
# and the Cluster API managers are for the full management plane (`make e2e-tools`, end-to-end
# runs and the demo) and are built on request; kustomize-controller only for `make bench-chain`.
DEFAULT_TOOLS=(kube-apiserver etcd controller-gen helm)

path_of() { # name -> cached binary path
	local name=$1 line
	line=$(tools_table | grep "^${name}|") || { echo "unknown tool: ${name}" >&2; exit 2; }
	IFS='|' read -r _ _ version _ _ <<<"$line"
	echo "${cache}/${name}/${version}/${name}"
}

build() {
	local name=$1 line module version pkg ldflags out
	line=$(tools_table | grep "^${name}|") || { echo "unknown tool: ${name}" >&2; exit 2; }
	IFS='|' read -r _ module version pkg ldflags <<<"$line"
	out="${cache}/${name}/${version}/${name}"
	[ -x "$out" ] && return 0
	mkdir -p "${out%/*}"
	# Two builds of one tool at once (a test building a missing etcd while `make e2e-tools`
	# runs) wait for each other, and each writes its own temporary file: the first to finish
	# puts the binary in place, the other finds it there.
	if command -v flock >/dev/null 2>&1; then
		exec {lock}>"${out%/*}/.lock"
		flock "$lock"
		[ -x "$out" ] && { exec {lock}>&-; return 0; }
	fi
	echo "building ${name} ${version} into ${out%/*} (first time only)" >&2
	local start=$SECONDS tmp="${out}.tmp.$$"
	(cd "${root}/hack/tools/${module}" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "${ldflags}" -o "${tmp}" "${pkg}")
	mv -f "${tmp}" "${out}"
	echo "built ${name} in $((SECONDS - start))s" >&2
	[ -n "${lock:-}" ] && exec {lock}>&-
	return 0
}

if [ "${1:-}" = "--path" ]; then
	path_of "$2"
	exit 0
fi
if [ "${1:-}" = "--print-dir" ]; then
	echo "${cache}"
	exit 0
fi

names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${DEFAULT_TOOLS[@]}")
for n in "${names[@]}"; do build "$n"; done
