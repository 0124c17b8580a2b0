// Package atomicfile is the one way builder writes a file that a user or
// another process reads: the content goes to a temporary file beside the
// destination, is synced, and is renamed over the destination only when all
// of it was written. On any failure the destination is exactly what it was
// and the temporary file is gone. containerd's pkg/atomicfile does the
// writing; this package adds the callback shape (so no caller can rename a
// partial file by reading the wrong err) and the directory sync that makes
// the rename itself survive a crash.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	cdatomic "github.com/containerd/containerd/v2/pkg/atomicfile"
)

// Write calls fill with a writer on a temporary file beside path and, if
// fill returns nil, replaces path with what it wrote (mode mode).
func Write(path string, mode os.FileMode, fill func(io.Writer) error) error {
	f, err := cdatomic.New(path, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		f.Cancel()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Cancel()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// WriteFile replaces path with dt, atomically.
func WriteFile(path string, dt []byte, mode os.FileMode) error {
	return Write(path, mode, func(w io.Writer) error {
		_, err := w.Write(dt)
		return err
	})
}

// Create returns a writer on a temporary file beside path; Close renames it
// into place, Cancel drops it. For writers handed to code that closes them
// itself (BuildKit's exporters).
func Create(path string, mode os.FileMode) (cdatomic.File, error) {
	f, err := cdatomic.New(path, mode)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
