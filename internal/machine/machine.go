// Package machine names where builder caches facts about this machine
// (the platforms it can run, runc's version) between invocations.
package machine

import (
	"os"
	"path/filepath"

	"github.com/builder-dev/builder/rootless"
)

// CacheDir is a per-machine directory the user owns: /run/builder for
// root, $XDG_RUNTIME_DIR/builder otherwise ("" disables these caches).
// /run is cleared at boot, as such facts may change then. An account run
// in its user namespace (rootless) is root there but not the owner of
// /run/builder.
func CacheDir() string {
	if rootless.HostUID() == 0 {
		return "/run/builder"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "builder")
	}
	return ""
}
