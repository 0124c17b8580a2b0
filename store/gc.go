package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/builder-dev/builder/internal/rootfile"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/gofrs/flock"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A process that writes blobs it has not yet named in the index (a build
// exporting, a pull, a load) holds the store's GC lock shared for that
// time; garbage collection takes it exclusively and skips its sweep when it
// cannot, so it never deletes a blob another process is writing or is about
// to reference. Unreferenced blobs left then are reclaimed by a later GC.
func (s *Store) gcLock() *flock.Flock { return rootfile.Lock(filepath.Join(s.dir, "gc.lock")) }

// Writing marks the start of a write of unnamed blobs; call the returned
// function once they are named in the index (or abandoned); calling it
// again does nothing.
//
// Ingests (half-written blobs) that a killed or failed writer left are
// dropped as the next writer starts and as each writer finishes, whenever
// no other writer is active: a pull that failed on a full disk must not
// keep the disk full.
func (s *Store) Writing(ctx context.Context) (done func(), err error) {
	s.dropIngests()
	l := s.gcLock()
	if err := l.RLock(); err != nil {
		return nil, fmt.Errorf("lock image store for writing: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.Unlock()
			s.dropIngests()
		})
	}, nil
}

// dropIngests removes every ingest, and returns the bytes freed, if no
// writer holds the GC lock.
func (s *Store) dropIngests() int64 {
	l := s.gcLock()
	if ok, err := l.TryLock(); err != nil || !ok {
		return 0
	}
	defer l.Unlock()
	return s.removeIngests()
}

// removeIngests removes every ingest; hold the GC lock exclusively. The
// ingest directory itself stays: the content store makes each ingest in it
// with a plain mkdir, so a later writer in this process needs it.
func (s *Store) removeIngests() int64 {
	ingest := filepath.Join(s.dir, "ingest")
	ents, err := os.ReadDir(ingest)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		dir := filepath.Join(ingest, e.Name())
		var size int64
		filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					size += fi.Size()
				}
			}
			return nil
		})
		if os.RemoveAll(dir) == nil {
			n += size
		}
	}
	// No writer holds an ingest's lock either (each holds the GC lock
	// shared while it writes): their files go too, or one would stay for
	// every blob ever written.
	locks, _ := os.ReadDir(filepath.Join(s.dir, ingestLocks))
	for _, e := range locks {
		os.Remove(filepath.Join(s.dir, ingestLocks, e.Name()))
	}
	return n
}

// Reach returns every stored blob that roots reach, with its size: what
// collection keeps, and what system df counts for an image.
func (s *Store) Reach(ctx context.Context, roots ...ocispec.Descriptor) (map[digest.Digest]int64, error) {
	reached := map[digest.Digest]int64{}
	mark := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		// Each blob is walked once: an index that lists the same child many
		// times, at several levels, would otherwise cost the product.
		if _, seen := reached[desc.Digest]; seen {
			return nil, nil
		}
		reached[desc.Digest] = desc.Size
		children, err := images.Children(ctx, s.cs, desc)
		if errdefs.IsNotFound(err) {
			return nil, nil // a partial image (e.g. one platform of an index)
		}
		return children, err
	})
	if err := images.Walk(ctx, mark, roots...); err != nil {
		return nil, err
	}
	return reached, nil
}

// GCResult says what a collection did.
type GCResult struct {
	// Skipped is true when another process was writing to the store.
	Skipped bool
	Removed []digest.Digest
	Bytes   int64
}

// GC deletes every blob that no index entry and no lease reaches.
func (s *Store) GC(ctx context.Context) (GCResult, error) {
	var res GCResult
	l := s.gcLock()
	ok, err := l.TryLock()
	if err != nil {
		return res, fmt.Errorf("lock image store for garbage collection: %w", err)
	}
	if !ok {
		res.Skipped = true
		return res, nil
	}
	defer l.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return res, err
	}
	roots := append([]ocispec.Descriptor{}, idx.Manifests...)
	leases, err := s.Leases(ctx)
	if err != nil {
		return res, err
	}
	for _, targets := range leases {
		roots = append(roots, targets...)
	}
	live, err := s.Reach(ctx, roots...)
	if err != nil {
		return res, fmt.Errorf("mark live blobs: %w", err)
	}
	// A store no image was ever written to has no blobs directory yet.
	if _, err := os.Stat(filepath.Join(s.dir, "blobs")); errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	err = s.cs.Walk(ctx, func(info content.Info) error {
		if _, ok := live[info.Digest]; ok {
			return nil
		}
		if err := s.cs.Delete(ctx, info.Digest); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		res.Removed = append(res.Removed, info.Digest)
		res.Bytes += info.Size
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("sweep blobs: %w", err)
	}
	if err := s.sweepTwins(live); err != nil {
		return res, fmt.Errorf("sweep compressed-layer records: %w", err)
	}
	// Ingests abandoned by killed or failed writers; no writer is active
	// now. What they held is freed space too.
	res.Bytes += s.removeIngests()
	return res, nil
}
