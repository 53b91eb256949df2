//go:build tools

// Package tools pins the Cluster API managers that end-to-end tests run for real: core, the
// kubeadm bootstrap and control-plane providers, and CAPD (the docker provider, whose
// in-memory backend simulates machines). It is a separate module so that cluster-api's own
// replace lines do not apply.
package tools

import (
	_ "sigs.k8s.io/cluster-api/bootstrap/kubeadm"
	_ "sigs.k8s.io/cluster-api/controlplane/kubeadm"
	_ "sigs.k8s.io/cluster-api/core"
	_ "sigs.k8s.io/cluster-api/test/infrastructure/docker"
)
