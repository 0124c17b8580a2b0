package solver

import (
	"context"
	"io"

	"github.com/builder-dev/builder/internal/layergzip"
	"github.com/moby/buildkit/cache/remotecache"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/util/compression"
)

// fastGzip is BuildKit's gzip compression type with builder's layer gzip
// writer in place of compress/gzip. Builds keep their layers uncompressed
// (the store asks for them so), so a registry or local cache export
// compresses every layer on its way out; with compress/gzip that was the
// largest part of what --cache-to cost a 400 MB build (bench/README.md).
// Everything else (media type, which stored variant counts as gzip, the
// finalizer) is BuildKit's, so the blobs are ordinary gzip layers and
// compression-level is honoured.
type fastGzip struct{ compression.Type }

func (fastGzip) Compress(_ context.Context, comp compression.Config) (compression.Compressor, compression.Finalizer) {
	return func(dest io.Writer, _ string) (io.WriteCloser, error) {
		level := layergzip.DefaultLevel
		if comp.Level != nil {
			level = *comp.Level
		}
		return layergzip.NewWriter(dest, level)
	}, nil
}

// fastGzipExporter is a cache exporter whose gzip compression is fastGzip.
type fastGzipExporter struct{ remotecache.Exporter }

func (e fastGzipExporter) Config() remotecache.Config {
	c := e.Exporter.Config()
	if c.Compression.Type == compression.Gzip {
		c.Compression.Type = fastGzip{compression.Gzip}
	}
	return c
}

// withFastGzip wraps a BuildKit cache exporter resolver so that the
// exporters it makes compress with fastGzip.
func withFastGzip(f remotecache.ResolveCacheExporterFunc) remotecache.ResolveCacheExporterFunc {
	return func(ctx context.Context, g session.Group, attrs map[string]string) (remotecache.Exporter, error) {
		e, err := f(ctx, g, attrs)
		if err != nil {
			return nil, err
		}
		return fastGzipExporter{e}, nil
	}
}
