// Package scratch gives each builder process a temporary directory of its
// own under the state root, ROOT/tmp/PID-N, and sweeps the ones whose
// process is gone. Every temporary mount builder and BuildKit make (a
// build's buildkit-mount*, commit's and export's views) goes there instead
// of /tmp, so that what a killed process leaves is found by the next one.
//
// A directory is proven stale by its lock: its process holds lock
// exclusively for as long as it lives, so a try-lock succeeds only once
// that process is gone (the kernel drops a flock with its holder, however
// it died). Nothing is swept on a guess from names, times or PIDs.
package scratch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/builder-dev/builder/internal/rootfile"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Dir is one process's claimed scratch directory.
type Dir struct {
	path string
	lock *os.File // holds the flock for as long as the process lives
}

// Claim sweeps stale scratch directories under root, makes this process's
// own and points TMPDIR at it, so that os.MkdirTemp("", ...) here and in
// BuildKit lands under root. Call Release before the process exits.
func Claim(root string) (*Dir, error) {
	base := filepath.Join(root, "tmp")
	if err := os.MkdirAll(base, 0700); err != nil {
		return nil, fmt.Errorf("create scratch directory: %w", err)
	}
	Sweep(base)
	var d *Dir
	// Another process's sweep can find the new directory before it is
	// locked, take it for stale and remove it: then claim another.
	for try := 0; d == nil; try++ {
		var err error
		if d, err = claim(base); err != nil {
			return nil, err
		}
		if d == nil && try == 10 {
			return nil, errors.New("create scratch directory: removed by other processes ten times")
		}
	}
	os.Setenv("TMPDIR", d.path)
	// containerd's mount.WithTempMount (BuildKit's exporter diffs layers
	// through it) chose its directory from /tmp at package init; a process
	// killed inside it left a mount there that nothing swept.
	if err := mount.SetTempMountLocation(filepath.Join(d.path, "mounts")); err != nil {
		d.Release()
		return nil, fmt.Errorf("create scratch mount directory: %w", err)
	}
	return d, nil
}

// claim makes a directory under base and locks it, and returns nil if a
// sweep removed it before the lock was held.
func claim(base string) (*Dir, error) {
	path, err := os.MkdirTemp(base, fmt.Sprintf("%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("create scratch directory: %w", err)
	}
	lockPath := filepath.Join(path, ".lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0600)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // swept already
	}
	if err != nil {
		os.RemoveAll(path)
		return nil, fmt.Errorf("lock scratch directory: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		os.RemoveAll(path)
		return nil, fmt.Errorf("lock scratch directory: %w", err)
	}
	// Locked: no sweep can take it from now on. It is ours only if the
	// file locked is still the one in the directory.
	held, err1 := f.Stat()
	now, err2 := os.Stat(lockPath)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		f.Close()
		return nil, nil
	}
	return &Dir{path: path, lock: f}, nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

// Release unmounts whatever is still mounted under the directory (a
// command that failed half way) and removes it.
func (d *Dir) Release() {
	if d == nil {
		return
	}
	clean(d.path)
	d.lock.Close() // drops the flock
}

// Sweep cleans every scratch directory under base whose process is gone.
func Sweep(base string) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(base, e.Name())
		l := rootfile.Lock(filepath.Join(dir, ".lock"))
		ok, err := l.TryLock()
		if err != nil || !ok {
			continue // its process lives (or the lock cannot be read: leave it)
		}
		clean(dir)
		l.Unlock()
	}
}

// clean unmounts everything under dir, deepest first, and removes dir, but
// only once no mount is left below it: removing files through a mount
// would delete what it shows (BuildKit's CVE-2024-23652 class). It reports
// whether dir is gone.
func clean(dir string) bool {
	mount.UnmountRecursive(dir, unix.MNT_DETACH)
	if left, err := mountsUnder(dir); err != nil || len(left) > 0 {
		return false
	}
	return os.RemoveAll(dir) == nil
}

// mountsUnder lists the mount points at or below dir.
func mountsUnder(dir string) ([]string, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(mounts))
	for i, m := range mounts {
		out[i] = m.Mountpoint
	}
	return out, nil
}

// WithTempMount mounts mounts on a fresh directory under this process's
// scratch (TMPDIR), calls fn with it, and unmounts. containerd's own
// WithTempMount picks its directory once, at package init, from /tmp,
// before a scratch directory can be claimed.
func WithTempMount(ctx context.Context, mounts []mount.Mount, fn func(root string) error) (err error) {
	dir, err := os.MkdirTemp("", "mount-")
	if err != nil {
		return err
	}
	defer func() {
		if uerr := mount.UnmountAll(dir, 0); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unmount %s: %w", dir, uerr))
			return
		}
		os.Remove(dir)
	}()
	if err := mount.All(mounts, dir); err != nil {
		return fmt.Errorf("mount %s: %w", dir, err)
	}
	return fn(dir)
}
