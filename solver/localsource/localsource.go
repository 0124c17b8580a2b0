// Package localsource is the embedded solver's source of local
// directories (a build's context, its Dockerfile's directory): BuildKit's
// own, with two shortcuts that only a solver in the client's process can
// take.
//
// BuildKit learns whether a context changed by syncing it: the client
// walks the context and streams every file's stat over the session, and
// the solver walks its own copy of the context to compare the two
// (fsutil's doubleWalkDiff). On a rebuild where nothing changed that is
// two walks and a stream of every stat to learn nothing. When the client
// is this process, the context is a directory this process can walk
// itself: one walk, with lstat alone, answers whether the context is
// exactly as it was when the copy was last synced, and then the copy is
// current and the sync is skipped. When it is not, the same process holds
// both ends of the sync, and runs fsutil's sender and receiver joined in
// memory instead of over the session (sync.go). Anything else (another
// process's session, a metadata-only transfer, an ID-mapped cache) is
// BuildKit's sync, unchanged. Before any sync, the copies it may write stop
// vouching for any directory.
//
// The walk that answers it (walk.go) also sends every build's local
// directories, in this process's client, whatever the solver (NewFS).
package localsource

import (
	"context"
	"runtime/trace"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/cache"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/source"
	"github.com/moby/buildkit/source/local"
	"github.com/tonistiigi/fsutil"
)

const (
	// keySharedKey and sharedKeyIndex are BuildKit's record of its copies
	// of local sources (source/local): a copy is found again by the shared
	// key its sync recorded.
	keySharedKey   = "local.sharedKey"
	sharedKeyIndex = keySharedKey + ":"
	// keySynced, on a copy's record, is the digest (walk.go) of the
	// directory as it was when the copy was last synced from it, or
	// empty when no finished sync vouches for the copy.
	keySynced = "builder.local.synced"
)

// Dirs are the local directories of the builds this process runs, by
// session: what the client sends, and so what the solver may walk itself.
type Dirs struct {
	mu sync.Mutex
	m  map[string]map[string]string // session ID -> local name -> directory
}

// NewDirs is an empty set of directories.
func NewDirs() *Dirs {
	return &Dirs{m: map[string]map[string]string{}}
}

// Add makes dirs (local name -> absolute directory) the local directories
// of the session id, until the returned function is called.
func (d *Dirs) Add(id string, dirs map[string]string) (remove func()) {
	d.mu.Lock()
	d.m[id] = dirs
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		delete(d.m, id)
		d.mu.Unlock()
	}
}

func (d *Dirs) lookup(id, name string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dir, ok := d.m[id][name]
	return dir, ok
}

// New is the local source for the embedded worker whose cache is cm:
// BuildKit's, with the shortcut for the directories in dirs.
func New(cm cache.Accessor, dirs *Dirs) (source.Source, error) {
	inner, err := local.NewSource(local.Opt{CacheAccessor: cm})
	if err != nil {
		return nil, err
	}
	return &localSource{Source: inner, cm: cm, dirs: dirs}, nil
}

type localSource struct {
	source.Source
	cm   cache.Accessor
	dirs *Dirs
}

func (s *localSource) Resolve(ctx context.Context, id source.Identifier, sm *session.Manager, vtx solver.Vertex) (source.SourceInstance, error) {
	inst, err := s.Source.Resolve(ctx, id, sm, vtx)
	if err != nil {
		return nil, err
	}
	lid, ok := id.(*local.LocalIdentifier)
	if !ok {
		return inst, nil
	}
	i := &instance{SourceInstance: inst, id: lid, sm: sm, cm: s.cm}
	// A metadata-only transfer syncs something else than the files; an
	// ID-mapped cache stores other owners. Either differ leaves the copy
	// as the directory was: DiffNone (the Dockerfile's and .dockerignore's
	// syncs, every file's content sent each time) only decides what to
	// send, and an unchanged ctime already says no content changed.
	if lid.SessionID != "" && !lid.MetadataOnly && (lid.Differ == fsutil.DiffMetadata || lid.Differ == fsutil.DiffNone) && s.cm.IdentityMapping() == nil {
		i.dir, _ = s.dirs.lookup(lid.SessionID, lid.Name)
	}
	return i, nil
}

// instance is BuildKit's local source instance; with dir set (a directory
// of this process's build), one that may skip the sync.
type instance struct {
	source.SourceInstance
	id  *local.LocalIdentifier
	dir string
	sm  *session.Manager
	cm  cache.Accessor
}

// Snapshot is the context's copy: the copy whose last sync was of the
// directory exactly as it is now, else BuildKit's sync into a copy, after
// which the copy records what it holds. Every sync goes through here, this
// process's or another's (a builder process attached to this solver, a
// buildctl against builder serve), so that none leaves a copy claiming
// what it no longer holds.
func (i *instance) Snapshot(ctx context.Context, jobCtx solver.JobContext) (cache.ImmutableRef, error) {
	key, prefix, dgst := i.keyAndDigest(ctx)
	// Records are read and written through the metadata store's own items
	// (Search, GetEqualMutable), never a cache record's in-memory copy, so
	// a long-lived solver reads what was last written.
	mds, err := i.cm.Search(ctx, key, prefix)
	if err != nil {
		return nil, err
	}
	if dgst != "" {
		if ref, err := i.current(ctx, mds, dgst); ref != nil || err != nil {
			return ref, err
		}
	}
	// BuildKit's sync may take any of these copies, and may be killed
	// half-way: none vouches for what it holds until a sync into it has
	// finished.
	for _, md := range mds {
		if md.GetString(keySynced) != "" {
			if err := md.SetString(keySynced, "", ""); err != nil {
				return nil, err
			}
		}
	}
	var ref cache.ImmutableRef
	if i.dir != "" && !prefix {
		region := trace.StartRegion(ctx, "context: sync in process")
		ref, err = i.syncHere(ctx, strings.TrimPrefix(key, sharedKeyIndex))
		region.End()
	} else {
		region := trace.StartRegion(ctx, "context: BuildKit's sync")
		ref, err = i.SourceInstance.Snapshot(ctx, jobCtx)
		region.End()
	}
	if err != nil || ref == nil || dgst == "" {
		return ref, err
	}
	// The copy synced is the committed ref's mutable, which stays locked
	// while ref is held: no other sync can change it before this is
	// recorded.
	if em, ok := ref.GetEqualMutable(); ok {
		if err := em.SetString(keySynced, dgst, ""); err != nil {
			ref.Release(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return ref, nil
}

// keyAndDigest are BuildKit's shared key for the copies (source/local), a
// prefix of it (prefix true) when the session, and so the caller's part of
// the key, is unknown; and the digest of the directory as it is now ("" if
// it is not this process's to walk).
func (i *instance) keyAndDigest(ctx context.Context) (key string, prefix bool, dgst string) {
	key, prefix = sharedKeyIndex+i.id.Name+":"+i.id.SharedKeyHint+":", true
	if i.id.SessionID == "" {
		return key, prefix, ""
	}
	getCtx, cancel := context.WithTimeout(ctx, 5*time.Second) // BuildKit's wait for the session
	caller, err := i.sm.Get(getCtx, i.id.SessionID, false)
	cancel()
	if err != nil {
		return key, prefix, ""
	}
	key, prefix = key+caller.SharedKey(), false
	if i.id.MetadataOnly {
		key += ":metadata"
	}
	if i.dir != "" {
		// Walked before any sync starts: a file changed after this walk
		// has a later ctime than the digest holds, so the digest never
		// again matches a directory that differs from what the sync
		// copied.
		region := trace.StartRegion(ctx, "context: digest walk")
		dgst, _ = Digest(ctx, i.dir, &fsutil.FilterOpt{IncludePatterns: i.id.IncludePatterns, ExcludePatterns: i.id.ExcludePatterns, FollowPaths: i.id.FollowPaths})
		region.End()
	}
	return key, prefix, dgst
}

// current commits and returns the copy among mds whose last sync was of
// the directory with digest dgst, nil if none is free.
func (i *instance) current(ctx context.Context, mds []cache.RefMetadata, dgst string) (cache.ImmutableRef, error) {
	for _, md := range mds {
		if md.GetString(keySynced) != dgst {
			continue
		}
		m, err := i.cm.GetMutable(ctx, md.ID())
		if err != nil {
			continue // in use by a build running alongside
		}
		ref, err := m.Commit(ctx)
		if err != nil {
			return nil, err
		}
		reportTransfer(ctx, i.id.Name)
		return ref, nil
	}
	return nil, nil
}

// reportTransfer shows the context's transfer, with nothing sent, as
// BuildKit's sync does (its progress line "transferring context:").
func reportTransfer(ctx context.Context, name string) {
	newProgressHandler(ctx, "transferring "+name+":")(0, true)
}
