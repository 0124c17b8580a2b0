package localsource

import (
	"bytes"
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
	"unsafe"

	"github.com/containerd/continuity/sysx"
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
// lookup from the root) and on two cores, and reads and stats the next
// few subdirectories ahead of the walk while the filter and the digest
// take the entries in order: the walk is most of a no-op rebuild, and of
// the extra cost of a rebuild after a change. Only NewFS's can be read
// from.
type statFS struct {
	root string
	raw  map[*types.Stat]*unix.Stat_t
	// send makes the walk fsutil's, stat for stat (NewFS): fsutil's file
	// modes, hard links, xattrs; and the files can be opened.
	send bool
}

// NewFS is the directory root as a build's client sends it: fsutil's
// FS (fsutil.NewFS), every stat the same, walked the way Digest walks.
// fsutil's own walk is single-threaded and looks each path up from the
// root, and a sync of a context after a change spends most of its time in
// it (bench/README.md).
func NewFS(root string) (fsutil.FS, error) {
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, &os.PathError{Op: "resolve", Path: root, Err: err}
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &os.PathError{Op: "stat", Path: root, Err: unix.ENOTDIR}
	}
	return &statFS{root: root, send: true}, nil
}

// readAheadDirs is how many subdirectories of the directory being walked are
// read and statted ahead of the walk: enough to keep a second core busy,
// few enough that the entries held at once stay a few directories' worth
// (and that a subdirectory the filter then skips costs little).
const readAheadDirs = 2

// listing is a directory's entries, sorted and statted: read in the walk
// or, for a subdirectory, ahead of it (done closes when it is ready).
type listing struct {
	done     chan struct{}
	children []statEntry
	err      error
}

// list reads the directory at path (rel in the walk) into l.
func (w *walker) list(path, rel string, l *listing) {
	defer close(l.done)
	f, err := os.Open(path)
	if err != nil {
		l.err = err
		return
	}
	defer f.Close()
	fd := int(f.Fd())
	ents, err := w.readDir(fd)
	l.err = err
	slices.SortFunc(ents, func(a, b dirent) int { return strings.Compare(a.name, b.name) })
	l.children = make([]statEntry, len(ents))
	for i, e := range ents {
		r := e.name
		if rel != "" {
			r = rel + string(filepath.Separator) + e.name
		}
		l.children[i] = statEntry{name: e.name, dtype: e.dtype, w: w, dir: path, rel: r}
	}
	statAll(fd, l.children, w.send)
}

// dirent is a directory entry as getdents64 gives it: its name, and its
// type as the directory records it (DT_*).
type dirent struct {
	name  string
	dtype uint8
}

// readDir reads the entries of the directory open as fd, "." and ".."
// left out. os.File.ReadDir would make an os.DirEntry of each, and its
// Readdirnames drops the type, which filepath.WalkDir (and so fsutil)
// goes by when an entry's lstat fails: the walk makes its own DirEntry
// from the stat it makes of every entry anyway.
func (w *walker) readDir(fd int) ([]dirent, error) {
	var buf *[]byte
	select {
	case buf = <-w.bufs:
	default:
		b := make([]byte, 8<<10)
		buf = &b
	}
	defer func() {
		select {
		case w.bufs <- buf:
		default:
		}
	}()
	var ents []dirent
	for {
		n, err := unix.Getdents(fd, *buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return ents, os.NewSyscallError("getdents64", err)
		}
		if n <= 0 {
			return ents, nil
		}
		if ents == nil {
			ents = make([]dirent, 0, n/24) // 24 bytes: the record of a name of up to 4 bytes
		}
		for b := (*buf)[:n]; len(b) > 0; {
			d := (*unix.Dirent)(unsafe.Pointer(&b[0]))
			if int(d.Reclen) <= int(unsafe.Offsetof(d.Name)) || int(d.Reclen) > len(b) {
				return ents, fmt.Errorf("getdents64: a record of %d bytes in %d", d.Reclen, len(b))
			}
			rec := b[:d.Reclen]
			b = b[d.Reclen:]
			name := rec[unsafe.Offsetof(d.Name):]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if string(name) == "." || string(name) == ".." {
				continue
			}
			ents = append(ents, dirent{name: string(name), dtype: d.Type})
		}
	}
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
	w := &walker{statFS: s, fn: call, ahead: make(chan struct{}, readAheadDirs), links: map[uint64]string{}, bufs: make(chan *[]byte, readAheadDirs+1)}
	// Nothing read ahead outlives the walk.
	defer w.pending.Wait()
	if rel == "." {
		err = w.walkDir(ctx, start, "", nil) // fsutil's walk leaves the root out
	} else {
		// A walk from one path (fsutil's filter resolving FollowPaths).
		e := &statEntry{name: filepath.Base(start), w: w, dir: filepath.Dir(start), rel: rel, statted: true}
		if e.err = unix.Lstat(start, &e.raw); e.err != nil {
			err = call(rel, nil, &os.PathError{Op: "lstat", Path: start, Err: e.err})
		} else {
			if s.send {
				e.loadXattrs()
			}
			err = w.walkDir(ctx, start, rel, e)
		}
	}
	if err == filepath.SkipDir || err == filepath.SkipAll {
		return nil
	}
	return err
}

// walker is one walk of a statFS.
type walker struct {
	*statFS
	// getdents64's buffers, one per directory being read. A sync.Pool in
	// their place (registered with the runtime, emptied by collections)
	// left a no-op rebuild's peak RSS 6 MB higher.
	bufs    chan *[]byte
	fn      gofs.WalkDirFunc
	ahead   chan struct{} // a slot per subdirectory being read ahead
	pending sync.WaitGroup
	// links is fsutil's record of hard links (its walk's seenFiles): the
	// first path met of each inode with several links.
	links map[uint64]string
}

// walkDir is filepath's walkDir for the directory at path (rel in the
// walk; d is nil for the root, which is not reported). A path of "" is
// d's own, made only if d is a directory read here.
func (w *walker) walkDir(ctx context.Context, path, rel string, d *statEntry) error {
	if d != nil {
		if err := w.fn(rel, d, nil); err != nil || !d.IsDir() {
			if err == filepath.SkipDir && d.IsDir() {
				err = nil
			}
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var l *listing
	if d != nil && d.ahead != nil {
		l = d.ahead
		<-l.done
	} else {
		l = &listing{done: make(chan struct{})}
		if path == "" {
			path = d.path()
		}
		w.list(path, rel, l)
	}
	if l.err != nil {
		if d == nil {
			return l.err
		}
		// WalkDir's second call, to report the error.
		if err := w.fn(rel, d, l.err); err != nil {
			if err == filepath.SkipDir && d.IsDir() {
				err = nil
			}
			return err
		}
	}
	children := l.children
	next := 0 // the first entry after the one walked not yet looked at for reading ahead
	for i := range children {
		// Keep up to readAheadDirs of the subdirectories after this entry
		// being read, each by a goroutine of its own.
		next = max(next, i+1)
		for ; next < len(children); next++ {
			if children[next].IsDir() && !w.readAhead(&children[next]) {
				break
			}
		}
		if err := w.walkDir(ctx, "", children[i].rel, &children[i]); err != nil {
			if err == filepath.SkipDir {
				break
			}
			return err
		}
	}
	return nil
}

// readAhead starts reading the directory d ahead of the walk, unless
// readAheadDirs directories are being read already.
func (w *walker) readAhead(d *statEntry) bool {
	select {
	case w.ahead <- struct{}{}:
	default:
		return false
	}
	d.ahead = &listing{done: make(chan struct{})}
	w.pending.Add(1)
	go func() {
		defer w.pending.Done()
		defer func() { <-w.ahead }()
		w.list(d.path(), d.rel, d.ahead)
	}()
	return true
}

// statAll stats entries relative to the directory dirfd, and with xattrs
// reads their xattrs, half of them on another goroutine when there are
// enough to be worth one.
func statAll(dirfd int, entries []statEntry, xattrs bool) {
	stat := func(es []statEntry) {
		for i := range es {
			es[i].err = unix.Fstatat(dirfd, es[i].Name(), &es[i].raw, unix.AT_SYMLINK_NOFOLLOW)
			es[i].statted = true
			if xattrs && es[i].err == nil {
				es[i].loadXattrs()
			}
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

func (s *statFS) Open(p string) (io.ReadCloser, error) {
	if !s.send {
		return nil, fmt.Errorf("localsource: a walk only")
	}
	return os.Open(filepath.Join(s.root, p))
}

type statEntry struct {
	name  string
	dtype uint8 // DT_*, from the directory
	w     *walker
	// dir is the path of the directory the entry is in (its listing's,
	// shared); rel is the entry's path in the walk.
	dir, rel string
	raw      unix.Stat_t
	err      error
	statted  bool
	ahead    *listing // a directory's entries, when read ahead of the walk
	// When sending: the entry's xattrs, read beside its stat, and its
	// stat as fsutil makes it, made once (hard links are numbered by the
	// order entries are first asked for).
	xattrs map[string][]byte
	xerr   error
	sent   *types.Stat
}

// path is the entry's path, made when asked for: most entries need none.
func (e *statEntry) path() string {
	if strings.HasSuffix(e.dir, string(filepath.Separator)) {
		return e.dir + e.name
	}
	return e.dir + string(filepath.Separator) + e.name
}

// The entry is its own DirEntry. Its type is the directory's record of
// it, as os.ReadDir's is (the stat's where the directory records none):
// filepath.WalkDir goes by it, when an lstat fails, to skip the entry or
// the rest of its directory.
func (e *statEntry) Name() string { return e.name }
func (e *statEntry) IsDir() bool  { return e.Type().IsDir() }
func (e *statEntry) Type() gofs.FileMode {
	m := uint32(e.dtype) << 12 // a DT_ type is its S_IF bits, shifted (glibc's DTTOIF)
	if e.dtype == unix.DT_UNKNOWN {
		m = e.raw.Mode
	}
	return fileMode(m & unix.S_IFMT).Type()
}

// loadXattrs reads the entry's xattrs as fsutil's stat does (loadXattr):
// none where the filesystem has none, macOS's left out.
func (e *statEntry) loadXattrs() {
	path := e.path()
	keys, err := sysx.LListxattr(path)
	if err != nil {
		if !errors.Is(err, unix.ENOTSUP) {
			e.xerr = fmt.Errorf("failed to xattr %s: %w", path, err)
		}
		return
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "com.apple.") {
			continue
		}
		if v, err := sysx.LGetxattr(path, k); err == nil {
			if e.xattrs == nil {
				e.xattrs = map[string][]byte{}
			}
			e.xattrs[k] = v
		}
	}
}

// sendStat is fsutil's stat of the entry (its mkstat), from the raw stat.
func (e *statEntry) sendStat() (*types.Stat, error) {
	if e.sent != nil {
		return e.sent, nil
	}
	if e.xerr != nil {
		return nil, e.xerr
	}
	raw := &e.raw
	relpath := filepath.ToSlash(e.rel)
	st := &types.Stat{Path: filepath.FromSlash(relpath), Mode: uint32(fileMode(raw.Mode)), ModTime: raw.Mtim.Nano(), Uid: raw.Uid, Gid: raw.Gid}
	if raw.Mode&unix.S_IFMT != unix.S_IFDIR {
		// fsutil's test, which also holds for a symlink (rdev 0 there).
		if raw.Mode&unix.S_IFBLK != 0 || raw.Mode&unix.S_IFCHR != 0 {
			st.Devmajor, st.Devminor = int64(unix.Major(raw.Rdev)), int64(unix.Minor(raw.Rdev))
		}
		if first, ok := e.w.links[raw.Ino]; ok && raw.Nlink > 1 {
			st.Linkname = first
		} else {
			e.w.links[raw.Ino] = relpath
		}
		st.Size = raw.Size
		if raw.Mode&unix.S_IFMT == unix.S_IFLNK {
			link, err := os.Readlink(e.path())
			if err != nil {
				return nil, err
			}
			st.Linkname = link
		}
	}
	st.Xattrs = e.xattrs
	st.Mode &^= uint32(os.ModeSocket)
	e.sent = st
	return st, nil
}

// fileMode is os.FileMode of a raw mode, as os.Lstat makes it.
func fileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	}
	if m&unix.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

func (e *statEntry) Info() (gofs.FileInfo, error) {
	if !e.statted {
		e.err, e.statted = unix.Lstat(e.path(), &e.raw), true
	}
	if e.err != nil {
		return nil, &os.PathError{Op: "lstat", Path: e.path(), Err: e.err}
	}
	if e.w.send {
		st, err := e.sendStat()
		if err != nil {
			return nil, err
		}
		// A copy, as fsutil's: what the stat is given to may change it.
		return &fsutil.StatInfo{Stat: st.Clone()}, nil
	}
	raw := &e.raw
	st := &types.Stat{Path: filepath.ToSlash(e.rel), Mode: raw.Mode, Uid: raw.Uid, Gid: raw.Gid, Size: raw.Size, ModTime: raw.Mtim.Nano()}
	if raw.Mode&unix.S_IFMT == unix.S_IFLNK {
		// fsutil's filter follows the symlinks among FollowPaths.
		link, err := os.Readlink(e.path())
		if err != nil {
			return nil, err
		}
		st.Linkname = link
	}
	e.w.raw[st] = raw
	return statInfo{name: e.name, typ: e.Type(), st: st}, nil
}

type statInfo struct {
	name string
	typ  gofs.FileMode
	st   *types.Stat
}

func (i statInfo) Name() string        { return i.name }
func (i statInfo) Size() int64         { return i.st.Size }
func (i statInfo) Mode() gofs.FileMode { return i.typ }
func (i statInfo) ModTime() time.Time  { return time.Unix(0, i.st.ModTime) }
func (i statInfo) IsDir() bool         { return i.typ.IsDir() }
func (i statInfo) Sys() any            { return i.st }
