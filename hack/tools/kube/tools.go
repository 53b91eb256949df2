//go:build tools

// Package tools pins the Kubernetes control-plane binaries that tests run for real.
// It is a separate module so that k8s.io/kubernetes' own replace lines do not apply.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
