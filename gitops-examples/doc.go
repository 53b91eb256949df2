// Package examples holds the tests of the example repositories: the management repository in
// Flux's bootstrap layout and the tenant's fleet repository.
package examples
