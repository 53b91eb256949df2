//go:build tools

// Package tools pins Flux kustomize-controller, which `make bench-chain` runs beside L-KaaS on
// the same API server. It is a separate module so that kustomize-controller's own replace lines
// (its api module at ./api) do not apply.
package tools

import (
	_ "github.com/fluxcd/kustomize-controller"
)
