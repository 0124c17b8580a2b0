package localsource

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	gofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"
	"golang.org/x/sys/unix"
)

// TestTransfer: fsutil's sender and receiver joined in memory copy a
// directory as the session does (contents, owners reset to root, links,
// the source's patterns), and every file's content hash is reported.
func TestTransfer(t *testing.T) {
	needsRoot(t) // the receiver sets owners, as the solver's does
	src := t.TempDir()
	for name, content := range map[string]string{"a": "a", "d/b": "bb", "ignored/c": "c"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0755)
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0640); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("a", filepath.Join(src, "link"))
	os.Lchown(filepath.Join(src, "a"), 1000, 1000)
	fs, err := sendFS(src, nil, []string{"ignored"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	var mu sync.Mutex
	hashed := map[string]bool{}
	err = transfer(context.Background(), fs, dest, fsutil.ReceiveOpt{
		NotifyHashed: func(_ fsutil.ChangeKind, p string, _ os.FileInfo, _ error) error {
			mu.Lock()
			hashed[p] = true
			mu.Unlock()
			return nil
		},
		ContentHasher: func(*types.Stat) (hash.Hash, error) { return sha256.New(), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"a": "a", "d/b": "bb"} {
		dt, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || string(dt) != content {
			t.Errorf("%s: %q, %v; want %q", name, dt, err, content)
		}
		if !hashed[name] {
			t.Errorf("%s: no content hash reported", name)
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "link")); err != nil || target != "a" {
		t.Errorf("link: %q, %v", target, err)
	}
	if _, err := os.Lstat(filepath.Join(dest, "ignored")); !os.IsNotExist(err) {
		t.Errorf("excluded directory copied: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dest, "a"), &st); err != nil || st.Uid != 0 || st.Gid != 0 {
		t.Errorf("a: owner %d:%d, %v; want 0:0", st.Uid, st.Gid, err)
	}
}

// TestTransferFails: a failure on either side ends both, with the
// failure's error, rather than leaving the other side waiting.
func TestTransferFails(t *testing.T) {
	src := t.TempDir()
	for _, name := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(name), 0644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := sendFS(src, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The sender's walk fails half-way. (A file it cannot open is sent
	// empty: fsutil's sender ignores the error, over a session too.)
	err = transfer(ctx, failingFS{FS: fs, name: "b"}, t.TempDir(), fsutil.ReceiveOpt{})
	if err == nil || !strings.Contains(err.Error(), "cannot read b") {
		t.Errorf("sender failing: %v", err)
	}
	// The receiver cannot write: its destination is a file.
	dest := filepath.Join(t.TempDir(), "file")
	os.WriteFile(dest, nil, 0644)
	if err := transfer(ctx, fs, dest, fsutil.ReceiveOpt{}); err == nil {
		t.Error("receiving into a file: no error")
	}
	// Cancelled.
	cancelled, stop := context.WithCancel(ctx)
	stop()
	if err := transfer(cancelled, fs, t.TempDir(), fsutil.ReceiveOpt{}); err == nil {
		t.Error("cancelled transfer: no error")
	}
	if ctx.Err() != nil {
		t.Fatal("a failing transfer hung")
	}
}

type failingFS struct {
	fsutil.FS
	name string
}

func (f failingFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	return f.FS.Walk(ctx, target, func(p string, d gofs.DirEntry, err error) error {
		if p == f.name {
			return errors.New("cannot read " + p)
		}
		return fn(p, d, err)
	})
}
