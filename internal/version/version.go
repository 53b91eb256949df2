// Package version holds the build's version, set by the linker:
//
//	-ldflags "-X github.com/dcn-ssu/lkaas/internal/version.Version=v0.1.0 -X ….Commit=abc123"
package version

import "runtime"

var (
	// Version of L-KaaS; "dev" for builds without ldflags.
	Version = "dev"
	// Commit the binary was built from.
	Commit = "unknown"
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the running binary's version information.
func Get() Info {
	return Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}
