package solver

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"testing"

	"github.com/moby/buildkit/cache/remotecache"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/util/compression"
	"github.com/opencontainers/go-digest"
)

type fakeExporter struct {
	remotecache.Exporter
	comp compression.Config
}

func (f fakeExporter) Config() remotecache.Config {
	return remotecache.Config{Compression: f.comp}
}

func TestWithFastGzip(t *testing.T) {
	level := 1
	for _, tc := range []struct {
		in   compression.Type
		fast bool
	}{
		{compression.Gzip, true},
		{compression.Zstd, false},
		{compression.Uncompressed, false},
		{compression.EStargz, false},
	} {
		resolve := withFastGzip(func(context.Context, session.Group, map[string]string) (remotecache.Exporter, error) {
			return fakeExporter{comp: compression.Config{Type: tc.in, Level: &level}}, nil
		})
		e, err := resolve(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := e.Config().Compression
		if _, fast := c.Type.(fastGzip); fast != tc.fast {
			t.Errorf("%s: fast gzip %v, want %v", tc.in, fast, tc.fast)
		}
		if c.Level == nil || *c.Level != 1 {
			t.Errorf("%s: level lost", tc.in)
		}
		if c.Type.String() != tc.in.String() || c.Type.MediaType() != tc.in.MediaType() {
			t.Errorf("%s: became %s (%s)", tc.in, c.Type, c.Type.MediaType())
		}
	}
}

// What fastGzip writes is gzip that compress/gzip reads back, at the level
// asked for.
func TestFastGzipCompress(t *testing.T) {
	data := bytes.Repeat([]byte("builder layer "), 10000)
	for _, level := range []*int{nil, ptr(1), ptr(9)} {
		compress, finalize := fastGzip{compression.Gzip}.Compress(context.Background(), compression.Config{Type: compression.Gzip, Level: level})
		if finalize != nil {
			t.Fatal("unexpected finalizer")
		}
		var buf bytes.Buffer
		w, err := compress(&buf, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := gzip.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %v", err)
		}
	}
	bad := 42
	compress, _ := fastGzip{compression.Gzip}.Compress(context.Background(), compression.Config{Type: compression.Gzip, Level: &bad})
	if _, err := compress(io.Discard, ""); err == nil {
		t.Fatal("level 42 accepted")
	}
}

func ptr(i int) *int { return &i }

// The inline cache exporter is found by its ExportForLayers method (as
// llbsolver's inlineCacheExporter); wrapped, it would silently export
// nothing.
func TestInlineExporterFound(t *testing.T) {
	exporters, _ := cacheBackends(nil, nil, nil, nil)
	e, err := exporters["inline"](context.Background(), nil, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(interface {
		ExportForLayers(context.Context, []digest.Digest) ([]byte, error)
	}); !ok {
		t.Fatalf("the inline exporter %T hides ExportForLayers", e)
	}
	for _, typ := range []string{"registry", "local"} {
		if _, ok := exporters[typ]; !ok {
			t.Fatalf("no %s exporter", typ)
		}
	}
}
