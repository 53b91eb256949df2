//go:build tools

// Package tools pins Flux source-controller, which end-to-end tests and the demo run for real.
// It is a separate module so that source-controller's own replace lines do not apply.
package tools

import (
	_ "github.com/fluxcd/source-controller"
)
