// Package e2e holds end-to-end tests that run the whole chain on real parts: Git server, Flux
// source-controller, Cluster API managers, the EMCO emulator and the L-KaaS controller.
// They are built with the e2e tag: make e2e.
package e2e
