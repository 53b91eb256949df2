// Package charts holds the tests of the L-KaaS Helm chart (charts/lkaas): lint, render, and
// a server-side dry run of what it renders against the real API server.
package charts
