package localsource

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	gofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"
	"golang.org/x/sys/unix"
)

// Digest identifies dir as a sync with opt's patterns would send it: the
// paths fsutil's filter passes (the same filter, over a walk of this
// package's), each with its whole lstat. Among its fields is ctime, which
// the kernel moves on every change to a file (content, mode, owner,
// xattrs, links; a retargeted symlink is a new inode) and which no one
// can set back: equal digests mean every stat fsutil would send, xattrs
// and link targets included, is unchanged, without reading them.
func Digest(ctx context.Context, dir string, opt *fsutil.FilterOpt) (string, error) {
	w := &statFS{root: dir, raw: map[*types.Stat]*unix.Stat_t{}}
	fs, err := fsutil.NewFilterFS(w, opt)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	hdr, err := json.Marshal(struct {
		Dir                      string
		Include, Exclude, Follow []string
	}{dir, opt.IncludePatterns, opt.ExcludePatterns, opt.FollowPaths})
	if err != nil {
		return "", err
	}
	h.Write(hdr)
	buf := make([]byte, 0, 256)
	err = fs.Walk(ctx, "", func(path string, e gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// The filter passes on the stat this walk made (its Info would
		// give a copy).
		de, ok := e.(*fsutil.DirEntryInfo)
		var raw *unix.Stat_t
		if ok {
			raw, ok = w.raw[de.Stat]
		}
		if !ok {
			return fmt.Errorf("%s: walked without a stat", path)
		}
		delete(w.raw, de.Stat) // the walk holds only what it has not yet digested
		buf = append(buf[:0], path...)
		buf = append(buf, 0)
		for _, v := range []uint64{uint64(raw.Mode), uint64(raw.Uid), uint64(raw.Gid), uint64(raw.Size),
			uint64(raw.Mtim.Sec), uint64(raw.Mtim.Nsec), uint64(raw.Ctim.Sec), uint64(raw.Ctim.Nsec),
			raw.Ino, raw.Dev, raw.Rdev, uint64(raw.Nlink)} {
			buf = binary.LittleEndian.AppendUint64(buf, v)
		}
		h.Write(buf)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// statFS is an fsutil.FS that walks a directory with lstat alone (fsutil's
// own reads each file's xattrs and link target too), keeping each entry's
// raw stat for Digest. It walks as filepath.WalkDir does (the order and
// the SkipDir rules fsutil's filter relies on), but stats a directory's
// entries as soon as it is read, relative to the open directory (no path
// lookup from the root) and on two cores: the walk is most of a no-op
// rebuild, and of the extra cost of a rebuild after a change. It cannot
// be read from.
type statFS struct {
	root string
	raw  map[*types.Stat]*unix.Stat_t
}

func (s *statFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	// fsutil's walk: what vanished while walked is skipped.
	call := func(rel string, d gofs.DirEntry, err error) error {
		err = fn(rel, d, err)
		if err != nil && errors.Is(err, gofs.ErrNotExist) {
			err = filepath.SkipDir
		}
		return err
	}
	start := filepath.Join(s.root, target)
	rel, err := filepath.Rel(s.root, start)
	if err != nil {
		return err
	}
	if rel == "." {
		err = s.walkDir(ctx, start, "", nil, call) // fsutil's walk leaves the root out
	} else {
		// A walk from one path (fsutil's filter resolving FollowPaths).
		if fi, lerr := os.Lstat(start); lerr != nil {
			err = call(rel, nil, lerr)
		} else {
			err = s.walkDir(ctx, start, rel, &statEntry{DirEntry: gofs.FileInfoToDirEntry(fi), fs: s, path: start, rel: rel}, call)
		}
	}
	if err == filepath.SkipDir || err == filepath.SkipAll {
		return nil
	}
	return err
}

// walkDir is filepath's walkDir for the directory at path (rel in the
// walk; d is nil for the root, which is not reported).
func (s *statFS) walkDir(ctx context.Context, path, rel string, d *statEntry, fn gofs.WalkDirFunc) error {
	if d != nil {
		if err := fn(rel, d, nil); err != nil || !d.IsDir() {
			if err == filepath.SkipDir && d.IsDir() {
				err = nil
			}
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(path)
	var ents []gofs.DirEntry
	if err == nil {
		defer f.Close()
		ents, err = f.ReadDir(-1)
	}
	if err != nil {
		if d == nil {
			return err
		}
		// WalkDir's second call, to report the error.
		if err = fn(rel, d, err); err != nil {
			if err == filepath.SkipDir && d.IsDir() {
				err = nil
			}
			return err
		}
	}
	slices.SortFunc(ents, func(a, b gofs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	children := make([]statEntry, len(ents))
	for i, e := range ents {
		children[i] = statEntry{DirEntry: e, fs: s, path: filepath.Join(path, e.Name()), rel: filepath.Join(rel, e.Name())}
	}
	if f != nil {
		statAll(int(f.Fd()), children)
	}
	for i := range children {
		if err := s.walkDir(ctx, children[i].path, children[i].rel, &children[i], fn); err != nil {
			if err == filepath.SkipDir {
				break
			}
			return err
		}
	}
	return nil
}

// statAll stats entries relative to the directory dirfd, half of them on
// another goroutine when there are enough to be worth one.
func statAll(dirfd int, entries []statEntry) {
	stat := func(es []statEntry) {
		for i := range es {
			es[i].err = unix.Fstatat(dirfd, es[i].Name(), &es[i].raw, unix.AT_SYMLINK_NOFOLLOW)
			es[i].statted = true
		}
	}
	if len(entries) < 32 {
		stat(entries)
		return
	}
	half := len(entries) / 2
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		stat(entries[half:])
	}()
	stat(entries[:half])
	wg.Wait()
}

func (s *statFS) Open(string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("localsource: a walk only")
}

type statEntry struct {
	gofs.DirEntry
	fs        *statFS
	path, rel string
	raw       unix.Stat_t
	err       error
	statted   bool
}

func (e *statEntry) Info() (gofs.FileInfo, error) {
	if !e.statted {
		e.err, e.statted = unix.Lstat(e.path, &e.raw), true
	}
	if e.err != nil {
		return nil, &os.PathError{Op: "lstat", Path: e.path, Err: e.err}
	}
	raw := &e.raw
	st := &types.Stat{Path: filepath.ToSlash(e.rel), Mode: raw.Mode, Uid: raw.Uid, Gid: raw.Gid, Size: raw.Size, ModTime: raw.Mtim.Nano()}
	if raw.Mode&unix.S_IFMT == unix.S_IFLNK {
		// fsutil's filter follows the symlinks among FollowPaths.
		link, err := os.Readlink(e.path)
		if err != nil {
			return nil, err
		}
		st.Linkname = link
	}
	e.fs.raw[st] = raw
	return statInfo{e.DirEntry, st}, nil
}

type statInfo struct {
	d  gofs.DirEntry
	st *types.Stat
}

func (i statInfo) Name() string        { return i.d.Name() }
func (i statInfo) Size() int64         { return i.st.Size }
func (i statInfo) Mode() gofs.FileMode { return i.d.Type() }
func (i statInfo) ModTime() time.Time  { return time.Unix(0, i.st.ModTime) }
func (i statInfo) IsDir() bool         { return i.d.IsDir() }
func (i statInfo) Sys() any            { return i.st }
