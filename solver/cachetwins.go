package solver

import (
	"context"
	"fmt"
	"io"
	"maps"
	"sync"

	"github.com/builder-dev/builder/internal/layergzip"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/labels"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/buildkit/cache/remotecache"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/util/compression"
	"github.com/moby/buildkit/util/leaseutil"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Builds keep their layers uncompressed (as the store does), and BuildKit's
// cache export sends a layer as it is held unless force-compression is set:
// a step writing 20 MB of text went to the registry as a 20 MB tar where
// stock buildkitd, whose layers are gzip from the start, sends 49 kB. And
// force-compression is no answer: BuildKit's conversion keeps only the new
// blob's annotations (cache/remote.go, getRemote), dropping the layer's
// buildkit/createdat, so a runner importing the cache dates the layers'
// history by its own clock and builds another image ID.
//
// So a cache export compresses each uncompressed layer itself, as push
// does: a gzip twin with the layer's own annotations, written once into
// the worker's content store and kept for as long as the layer is (a gc.ref
// label on the layer's blob names it), found again by the next export.

// twinLabel, on an uncompressed layer's blob, names its gzip twin (and,
// being a containerd gc.ref label, keeps the twin while the layer lives).
const twinLabel = "containerd.io/gc.ref.content.builder.gzip-twin"

// twinExporter is a cache exporter whose uncompressed layers go out as
// their gzip twins: for gzip (buildx's default) without force-compression,
// which keeps BuildKit's own conversion.
type twinExporter struct {
	remotecache.Exporter
	cs    content.Store
	lm    leases.Manager
	level int
	mu    sync.Mutex
	twins map[digest.Digest]ocispec.Descriptor // this export's, by layer digest
}

func (e *twinExporter) Add(dgst digest.Digest, deps [][]solver.CacheLink, results []solver.CacheExportResult) (solver.CacheExporterRecord, bool, error) {
	out := make([]solver.CacheExportResult, len(results))
	for i, r := range results {
		out[i] = r
		if r.Result == nil {
			continue
		}
		remote, err := e.compressed(context.Background(), r.Result)
		if err != nil {
			return nil, false, fmt.Errorf("compress the build cache's layers: %w", err)
		}
		out[i].Result = remote
	}
	return e.Exporter.Add(dgst, deps, out)
}

// compressed is remote with each uncompressed layer replaced by its twin.
func (e *twinExporter) compressed(ctx context.Context, remote *solver.Remote) (*solver.Remote, error) {
	var descs []ocispec.Descriptor
	changed := false
	for _, d := range remote.Descriptors {
		mt, ok := gzipType(d.MediaType)
		if !ok {
			descs = append(descs, d)
			continue
		}
		twin, err := e.twin(ctx, remote.Provider, d, mt)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", d.Digest, err)
		}
		descs, changed = append(descs, twin), true
	}
	if !changed {
		return remote, nil
	}
	return &solver.Remote{Descriptors: descs, Provider: twinProvider{InfoReaderProvider: remote.Provider, cs: e.cs}}, nil
}

// twin is d's gzip twin: this export's, a stored one, or made now.
func (e *twinExporter) twin(ctx context.Context, p content.InfoReaderProvider, d ocispec.Descriptor, mediaType string) (ocispec.Descriptor, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.twins[d.Digest]; ok {
		return t, nil
	}
	t := ocispec.Descriptor{MediaType: mediaType, Annotations: maps.Clone(d.Annotations)}
	if t.Annotations == nil {
		t.Annotations = map[string]string{}
	}
	if _, ok := t.Annotations[labels.LabelUncompressed]; !ok {
		t.Annotations[labels.LabelUncompressed] = d.Digest.String()
	}
	if info, err := e.cs.Info(ctx, d.Digest); err == nil {
		if dg, err := digest.Parse(info.Labels[twinLabel]); err == nil {
			if ti, err := e.cs.Info(ctx, dg); err == nil {
				t.Digest, t.Size = ti.Digest, ti.Size
				e.twins[d.Digest] = t
				return t, nil
			}
		}
	}
	// Under a lease until the layer's label holds the twin.
	ctx, done, err := leaseutil.WithLease(ctx, e.lm, leaseutil.MakeTemporary)
	if err != nil {
		return t, err
	}
	defer done(context.WithoutCancel(ctx))
	ra, err := p.ReaderAt(ctx, d)
	if err != nil {
		return t, err
	}
	defer ra.Close()
	w, err := content.OpenWriter(ctx, e.cs, content.WithRef("builder-twin-"+d.Digest.String()))
	if err != nil {
		return t, err
	}
	defer w.Close()
	if err := w.Truncate(0); err != nil {
		return t, err
	}
	zw, err := layergzip.NewWriter(w, e.level)
	if err != nil {
		return t, err
	}
	if _, err := io.Copy(zw, io.NewSectionReader(ra, 0, ra.Size())); err != nil {
		return t, err
	}
	if err := zw.Close(); err != nil {
		return t, err
	}
	t.Digest = w.Digest()
	st, err := w.Status()
	if err != nil {
		return t, err
	}
	t.Size = st.Offset
	if err := w.Commit(ctx, t.Size, t.Digest); err != nil && !cerrdefs.IsAlreadyExists(err) {
		return t, err
	}
	info := content.Info{Digest: d.Digest, Labels: map[string]string{twinLabel: t.Digest.String()}}
	if _, err := e.cs.Update(ctx, info, "labels."+twinLabel); err != nil {
		return t, fmt.Errorf("record the gzip twin: %w", err)
	}
	e.twins[d.Digest] = t
	return t, nil
}

// gzipType is the gzip media type of an uncompressed layer's, if it is one.
func gzipType(mt string) (string, bool) {
	switch mt {
	case ocispec.MediaTypeImageLayer:
		return ocispec.MediaTypeImageLayerGzip, true
	case images.MediaTypeDockerSchema2Layer:
		return images.MediaTypeDockerSchema2LayerGzip, true
	}
	return "", false
}

// twinProvider serves the twins from the content store, every other blob
// from the result's own provider.
type twinProvider struct {
	content.InfoReaderProvider
	cs content.Store
}

func (p twinProvider) ReaderAt(ctx context.Context, d ocispec.Descriptor) (content.ReaderAt, error) {
	if ra, err := p.cs.ReaderAt(ctx, d); err == nil {
		return ra, nil
	}
	return p.InfoReaderProvider.ReaderAt(ctx, d)
}

func (p twinProvider) Info(ctx context.Context, dg digest.Digest) (content.Info, error) {
	if info, err := p.cs.Info(ctx, dg); err == nil {
		return info, nil
	}
	return p.InfoReaderProvider.Info(ctx, dg)
}

// withTwins wraps a cache exporter resolver so that its exporters send
// gzip twins of uncompressed layers, where the export is gzip and not
// forced (its own conversion then), and compress what BuildKit converts
// with fastGzip.
func withTwins(f remotecache.ResolveCacheExporterFunc, cs content.Store, lm leases.Manager) remotecache.ResolveCacheExporterFunc {
	fast := withFastGzip(f)
	return func(ctx context.Context, g session.Group, attrs map[string]string) (remotecache.Exporter, error) {
		e, err := fast(ctx, g, attrs)
		if err != nil {
			return nil, err
		}
		c := e.Config().Compression
		if cs == nil || lm == nil || c.Force || !isGzip(c.Type) {
			return e, nil
		}
		level := layergzip.DefaultLevel
		if c.Level != nil {
			level = *c.Level
		}
		return &twinExporter{Exporter: e, cs: cs, lm: lm, level: level, twins: map[digest.Digest]ocispec.Descriptor{}}, nil
	}
}

// isGzip: BuildKit's gzip, or fastGzip standing for it.
func isGzip(t compression.Type) bool {
	if f, ok := t.(fastGzip); ok {
		t = f.Type
	}
	return t == compression.Gzip
}
