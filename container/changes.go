package container

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/builder-dev/builder/internal/scratch"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/containerd/continuity/fs"
	"github.com/moby/buildkit/util/overlay"
)

// runtimeStubs are the mountpoints runc creates in a container's root when
// the image lacks them; docker hides them with an "init" layer. Empty, they
// are the runtime's, not the user's change, so diff and commit leave them
// out.
var runtimeStubs = map[string]bool{"/dev": true, "/proc": true, "/sys": true, "/run": true,
	"/etc/hosts": true, "/etc/hostname": true, "/etc/resolv.conf": true, "/dev/shm": true, "/dev/pts": true}

func isStub(kind fs.ChangeKind, path string, fi os.FileInfo) bool {
	if kind != fs.ChangeKindAdd || fi == nil || !runtimeStubs[path] {
		return false
	}
	return (fi.IsDir() || fi.Mode().IsRegular()) && (fi.IsDir() || fi.Size() == 0)
}

// walkChanges calls fn for each change in a container's upper directory
// against the image's layers, reading it as BuildKit's overlay differ does
// (a whiteout-free view of the upper; index=off so it mounts while the
// container's own overlay is up). root is the view to read file content from.
func walkChanges(ctx context.Context, upper string, lowers []string, fn func(k fs.ChangeKind, path string, fi os.FileInfo, root string) error) error {
	lower, cleanup, err := lowerMounts(lowers)
	if err != nil {
		return err
	}
	defer cleanup()
	empty, err := os.MkdirTemp("", "builder-view-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(empty)
	view := []mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + upper + ":" + empty, "index=off"}}}
	return scratch.WithTempMount(ctx, lower, func(lowerRoot string) error {
		return scratch.WithTempMount(ctx, view, func(viewRoot string) error {
			return overlay.Changes(ctx, func(k fs.ChangeKind, path string, fi os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				if isStub(k, path, fi) || underStub(path) {
					return nil
				}
				return fn(k, path, fi, viewRoot)
			}, upper, viewRoot, lowerRoot)
		})
	})
}

// underStub: nothing below /proc, /sys or /dev is the container's to keep.
func underStub(path string) bool {
	for _, p := range []string{"/proc/", "/sys/", "/dev/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// writeChanges writes the changes as a layer tar (OCI whiteouts for
// deletions) to w.
func writeChanges(ctx context.Context, w io.Writer, upper string, lowers []string) error {
	var cw *archive.ChangeWriter
	err := walkChanges(ctx, upper, lowers, func(k fs.ChangeKind, path string, fi os.FileInfo, root string) error {
		if cw == nil {
			cw = archive.NewChangeWriter(w, root)
		}
		return cw.HandleChange(k, path, fi, nil)
	})
	if cw == nil {
		// No change at all: still a valid (empty) layer tar.
		cw = archive.NewChangeWriter(w, "/")
	}
	if cerr := cw.Close(); err == nil {
		err = cerr
	}
	return err
}
