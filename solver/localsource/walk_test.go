package localsource

import (
	"context"
	"io"
	gofs "io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"
	"golang.org/x/sys/unix"
)

// TestDigest: every change a sync would send moves the digest, and a
// change the filter hides does not.
func TestDigest(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"a": "a", "d/b": "b", "ignored/c": "c", "t1": "1", "t2": "2"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("t1", filepath.Join(dir, "link"))
	opt := &fsutil.FilterOpt{ExcludePatterns: []string{"ignored"}}
	digest := func(opt *fsutil.FilterOpt) string {
		t.Helper()
		d, err := Digest(context.Background(), dir, opt)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	last := digest(opt)
	if again := digest(opt); again != last {
		t.Fatalf("unchanged directory: %s, then %s", last, again)
	}
	path := func(p string) string { return filepath.Join(dir, p) }
	for _, c := range []struct {
		name   string
		change func() error
		moves  bool
	}{
		{"content, same size", func() error { return os.WriteFile(path("a"), []byte("A"), 0644) }, true},
		{"mtime", func() error { t := time.Now().Add(time.Hour); return os.Chtimes(path("a"), t, t) }, true},
		{"mode", func() error { return os.Chmod(path("d/b"), 0600) }, true},
		{"owner", func() error {
			if os.Geteuid() != 0 {
				return os.Chmod(path("d/b"), 0640) // only root gives a file away: move the digest another way
			}
			return os.Lchown(path("d/b"), 1, 1)
		}, true},
		{"xattr", func() error { return unix.Setxattr(path("a"), "user.x", []byte("1"), 0) }, true},
		{"new empty directory", func() error { return os.Mkdir(path("d/e"), 0755) }, true},
		{"deleted file", func() error { return os.Remove(path("d/b")) }, true},
		{"symlink retargeted", func() error { os.Remove(path("link")); return os.Symlink("t2", path("link")) }, true},
		{"hard link added", func() error { return os.Link(path("t1"), path("t1-link")) }, true},
		{"file excluded by the patterns", func() error { return os.WriteFile(path("ignored/c"), []byte("C"), 0644) }, false},
	} {
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		d := digest(opt)
		if moved := d != last; moved != c.moves {
			t.Errorf("%s: digest moved %v, want %v", c.name, moved, c.moves)
		}
		last = d
	}
	if digest(&fsutil.FilterOpt{ExcludePatterns: []string{"ignored", "a"}}) == last {
		t.Error("other exclude patterns: the same digest")
	}
	if digest(&fsutil.FilterOpt{ExcludePatterns: []string{"ignored"}, FollowPaths: []string{"link"}}) == last {
		t.Error("follow paths: the same digest")
	}
}

// contextTree makes, in a new directory, a context with every kind of
// entry a walk meets: files made out of order (a directory lists its
// entries as they were made), one directory with enough entries for the
// stats to be split and several to be read ahead, an empty one, symlinks
// (to a directory, up, dangling), hard links (one met before the file's
// other name, one to a symlink), set-id and sticky bits, another owner,
// xattrs on a file and a directory, a fifo, devices and a socket.
func contextTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := func(p string) string { return filepath.Join(dir, p) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"z", "src/skip.tmp", "src/keep.go", "node_modules/x/y", "b/d/e", "b/c", "a", "links/one"} {
		must(os.MkdirAll(path(filepath.Dir(name)), 0755))
		must(os.WriteFile(path(name), []byte(name), 0644))
	}
	for i := 39; i >= 0; i-- {
		must(os.WriteFile(path("b/many"+string(rune('a'+i%26))+string(rune('a'+i/26))), nil, 0644))
	}
	for _, d := range []string{"deep/1/2/3", "deep/1/4", "deep/5", "empty"} {
		must(os.MkdirAll(path(d), 0755))
	}
	must(os.Symlink("src", path("link")))
	must(os.Symlink("../a", path("b/up")))
	must(os.Symlink("nowhere", path("dangling")))
	must(os.Link(path("links/one"), path("a-link")))     // met first in the walk
	must(os.Link(path("links/one"), path("links/two")))  // a third name
	must(os.Link(path("dangling"), path("links/dlink"))) // a hard link to a symlink
	must(unix.Chmod(path("b/c"), 0o4755))
	must(unix.Chmod(path("deep/5"), 0o3777))
	must(os.Lchown(path("z"), 1000, 1001))
	must(unix.Setxattr(path("a"), "user.one", []byte("1"), 0))
	must(unix.Setxattr(path("deep/1"), "user.dir", []byte("d"), 0))
	must(unix.Mkfifo(path("fifo"), 0600))
	must(unix.Mknod(path("chr"), unix.S_IFCHR|0600, int(unix.Mkdev(1, 3))))
	must(unix.Mknod(path("blk"), unix.S_IFBLK|0600, int(unix.Mkdev(7, 300))))
	l, err := net.Listen("unix", path("sock"))
	must(err)
	t.Cleanup(func() { l.Close() })
	return dir
}

// filters are the include, exclude and follow rules the walk tests walk
// contextTree with, through fsutil's filter as a sync does.
var filters = []fsutil.FilterOpt{
	{},
	{ExcludePatterns: []string{"node_modules", "**/*.tmp"}},
	{ExcludePatterns: []string{"b", "!b/d"}},
	{IncludePatterns: []string{"src", "b/d", "links"}},
	{FollowPaths: []string{"link"}},
	{FollowPaths: []string{"b/up"}, ExcludePatterns: []string{"z"}},
}

// walked is what a walk through fsutil's filter gives, in order: each
// path and, where stat is set, its stat.
func walked(t *testing.T, fs fsutil.FS, opt *fsutil.FilterOpt, stat bool) (paths []string, stats []*types.Stat) {
	t.Helper()
	f, err := fsutil.NewFilterFS(fs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Walk(context.Background(), string(filepath.Separator), func(p string, e gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		if stat {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			stats = append(stats, fi.Sys().(*types.Stat))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return paths, stats
}

// TestStatFSWalksAsFsutil: through fsutil's filter, the digest's walk
// passes the same paths, in the same order, as fsutil's own walk does
// (which is what the sync sends), for include, exclude and follow rules.
func TestStatFSWalksAsFsutil(t *testing.T) {
	needsRoot(t)
	dir := contextTree(t)
	for _, opt := range filters {
		ref, err := fsutil.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := walked(t, ref, &opt, false)
		got, _ := walked(t, &statFS{root: dir, raw: map[*types.Stat]*unix.Stat_t{}}, &opt, false)
		if !slices.Equal(got, want) {
			t.Errorf("%+v:\n got %v\nwant %v", opt, got, want)
		}
	}
}

// TestNewFSSendsAsFsutil: through fsutil's filter (as the sync sends a
// context), NewFS gives every entry fsutil's own walk gives, in the same
// order and with the same stat: file modes of every type and with
// set-id and sticky bits, owners, device numbers, hard links (fsutil
// names the first path of an inode), symlinks, xattrs; and its files
// read the same.
func TestNewFSSendsAsFsutil(t *testing.T) {
	needsRoot(t)
	dir := contextTree(t)
	for _, opt := range filters {
		ref, err := fsutil.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		wantPaths, want := walked(t, ref, &opt, true)
		gotPaths, got := walked(t, fs, &opt, true)
		if len(got) != len(want) {
			t.Errorf("%+v: %d entries, want %d", opt, len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			if gotPaths[i] != wantPaths[i] || !got[i].EqualVT(want[i]) {
				t.Errorf("%+v: entry %d:\n got %s %v\nwant %s %v", opt, i, gotPaths[i], got[i], wantPaths[i], want[i])
			}
		}
	}
	fs, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fs.Open("b/d/e")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "b/d/e" {
		t.Errorf("Open: read %q", b)
	}
	if _, err := NewFS(filepath.Join(dir, "a")); err == nil {
		t.Error("NewFS of a file: no error")
	}
	if _, err := NewFS(filepath.Join(dir, "missing")); err == nil {
		t.Error("NewFS of nothing: no error")
	}
}

// TestEntryTypes: an entry's type, read from its directory (getdents64's
// d_type), is the type os.Lstat gives, for every kind of file.
func TestEntryTypes(t *testing.T) {
	needsRoot(t)
	dir := contextTree(t)
	fs, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := fs.Walk(context.Background(), "", func(p string, e gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		if got, want := e.Type(), fi.Mode().Type(); got != want || e.IsDir() != fi.IsDir() {
			t.Errorf("%s: type %v (dir %v), want %v", p, got, e.IsDir(), want)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("walked %d entries", n)
	}
}

// needsRoot skips a test whose files only root may make (other owners,
// devices), so that `go test ./...` passes as any user; `make test` runs
// as root, where it runs.
func needsRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root (files of other owners, device nodes)")
	}
}
