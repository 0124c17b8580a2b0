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
		if !ok || w.raw[de.Stat] == nil {
			return fmt.Errorf("%s: walked without a stat", path)
		}
		raw := w.raw[de.Stat]
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
// raw stat for Digest. It cannot be read from.
type statFS struct {
	root string
	raw  map[*types.Stat]*unix.Stat_t
}

func (s *statFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	return filepath.WalkDir(filepath.Join(s.root, target), func(path string, d gofs.DirEntry, err error) (retErr error) {
		defer func() {
			// fsutil's walk: what vanished while walked is skipped.
			if retErr != nil && errors.Is(retErr, gofs.ErrNotExist) {
				retErr = filepath.SkipDir
			}
		}()
		rel, rerr := filepath.Rel(s.root, path)
		if rerr != nil {
			return rerr
		}
		if rel == "." {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d == nil {
			return fn(rel, nil, err)
		}
		return fn(rel, &statEntry{DirEntry: d, fs: s, path: path, rel: rel}, err)
	})
}

func (s *statFS) Open(string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("localsource: a walk only")
}

type statEntry struct {
	gofs.DirEntry
	fs        *statFS
	path, rel string
}

func (e *statEntry) Info() (gofs.FileInfo, error) {
	var raw unix.Stat_t
	if err := unix.Lstat(e.path, &raw); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: e.path, Err: err}
	}
	st := &types.Stat{Path: filepath.ToSlash(e.rel), Mode: raw.Mode, Uid: raw.Uid, Gid: raw.Gid, Size: raw.Size, ModTime: raw.Mtim.Nano()}
	if raw.Mode&unix.S_IFMT == unix.S_IFLNK {
		// fsutil's filter follows the symlinks among FollowPaths.
		link, err := os.Readlink(e.path)
		if err != nil {
			return nil, err
		}
		st.Linkname = link
	}
	e.fs.raw[st] = &raw
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
