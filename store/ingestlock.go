package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/builder-dev/builder/internal/rootfile"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/gofrs/flock"
	"github.com/opencontainers/go-digest"
)

// ingestLocks is where lockedIngests keeps its lock files, one per ingest
// ref, beside containerd's ingest directory (whose entries must all be
// ingests).
const ingestLocks = "ingest-locks"

// lockedIngests is the store's content store with each ingest locked
// across processes. containerd's local store locks a writer's ref within
// its own process only; two builder processes on one root (two builds on
// one base image, exporting the same layer at the same moment) would
// otherwise write the same ingest at once, and the second fail when the
// first's commit moved the data it was writing away. With the lock the
// second waits, then finds the blob committed (ErrAlreadyExists, which
// writers take as done).
type lockedIngests struct {
	content.Store
	dir string
}

func (c *lockedIngests) Writer(ctx context.Context, opts ...content.WriterOpt) (content.Writer, error) {
	var wo content.WriterOpts
	for _, o := range opts {
		if err := o(&wo); err != nil {
			return nil, err
		}
	}
	if wo.Ref == "" {
		return c.Store.Writer(ctx, opts...) // containerd's error
	}
	if err := os.MkdirAll(c.dir, 0700); err != nil {
		return nil, fmt.Errorf("lock ingest %s: %w", wo.Ref, err)
	}
	l := rootfile.Lock(filepath.Join(c.dir, digest.FromString(wo.Ref).Encoded()))
	if ok, err := l.TryLockContext(ctx, 5*time.Millisecond); err != nil || !ok {
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("lock ingest %s: %w", wo.Ref, err)
	}
	w, err := c.Store.Writer(ctx, opts...)
	if err != nil {
		l.Unlock()
		return nil, err
	}
	return &lockedWriter{Writer: w, lock: l}, nil
}

// lockedWriter holds its ingest's lock until it is committed or closed.
type lockedWriter struct {
	content.Writer
	lock *flock.Flock
	once sync.Once
}

func (w *lockedWriter) unlock() { w.once.Do(func() { w.lock.Unlock() }) }

func (w *lockedWriter) Commit(ctx context.Context, size int64, expected digest.Digest, opts ...content.Opt) error {
	err := w.Writer.Commit(ctx, size, expected, opts...)
	if err == nil {
		w.unlock() // the ingest is gone; whoever waits finds the blob
	}
	return err
}

func (w *lockedWriter) Close() error {
	err := w.Writer.Close()
	w.unlock()
	return err
}
