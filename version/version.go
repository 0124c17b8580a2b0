// Package version holds builder's version, set at link time by the Makefile
// (-X github.com/builder-dev/builder/version.Version=...). It imports
// nothing, so that the docker CLI's metadata request can be answered
// before the rest of builder is initialised (dockerplugin/metareply).
package version

// Version is builder's release, "dev" in a plain `go build`.
var Version = "dev"
