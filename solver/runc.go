package solver

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/internal/runtime"
	"github.com/containerd/containerd/v2/core/mount"
	"golang.org/x/sys/unix"
)

// sweepStale cleans what a killed owner leaves: runc containers whose bundle
// lies under the root (their processes outlive the owner, reparented to init)
// and mounts under the worker's own state (ROOT/runc-*). Only the lock
// holder calls it, and only the lock holder uses that state, so nothing
// swept can belong to a live builder process. Containers (ROOT/containers)
// and other processes' scratch mounts (ROOT/tmp) are not the solver's: run
// never takes the solver lock, so their mounts are live.
func sweepStale(ctx context.Context, root, runc string) {
	// Without a bundle under the executor directory, no RUN step of ours
	// can be left behind: skip asking runc.
	bundles, _ := filepath.Glob(filepath.Join(root, "runc-*", "executor", "*", "config.json"))
	if runc != "" && len(bundles) > 0 {
		// BuildKit's executor keeps its RUN steps on runc's default root.
		rt := runtime.New(runc, "")
		if list, err := rt.List(ctx); err == nil {
			for _, c := range list {
				if strings.HasPrefix(c.Bundle, root+"/") {
					rt.Delete(ctx, c.ID)
				}
			}
		}
	}
	// BuildKit's worker state is ROOT/runc-SNAPSHOTTER.
	dirs, _ := filepath.Glob(filepath.Join(root, "runc-*"))
	for _, d := range dirs {
		mount.UnmountRecursive(d, unix.MNT_DETACH)
	}
}
