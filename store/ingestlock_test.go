package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestIngestLockedAcrossProcesses: two stores on one directory (two
// builder processes on one root, each with containerd's in-process locks
// only) writing the same blob under the same ref: the second writer waits
// for the first, then finds the blob; concurrent writes of one blob both
// succeed; and the locks' files go with the ingests.
func TestIngestLockedAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("the base image's layer")
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(data), Size: int64(len(data))}
	ref := "layer-" + desc.Digest.String()

	w1, err := s1.Content().Writer(ctx, content.WithRef(ref), content.WithDescriptor(desc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w1.Write(data[:4]); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		w2, err := s2.Content().Writer(ctx, content.WithRef(ref), content.WithDescriptor(desc))
		if err == nil {
			w2.Close()
		}
		second <- err
	}()
	select {
	case err := <-second:
		t.Fatalf("another process's writer of the ingest being written opened at once (err %v): both write one data file", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := w1.Write(data[4:]); err != nil {
		t.Fatal(err)
	}
	if err := w1.Commit(ctx, desc.Size, desc.Digest); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second:
		if !errdefs.IsAlreadyExists(err) {
			t.Fatalf("the waiting writer, after the commit: %v; want the blob found", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting writer still waits after the first committed")
	}
	w1.Close()

	// A writer closed without a commit lets the next one in.
	other := []byte("another layer")
	odesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(other), Size: int64(len(other))}
	w, err := s1.Content().Writer(ctx, content.WithRef("layer-other"), content.WithDescriptor(odesc))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	w, err = s2.Content().Writer(wctx, content.WithRef("layer-other"), content.WithDescriptor(odesc))
	cancel()
	if err != nil {
		t.Fatalf("after the first writer closed: %v", err)
	}
	w.Close()

	// Concurrent writes of one blob, as two exports: both succeed.
	for i := 0; i < 10; i++ {
		blob := bytes.Repeat([]byte{byte(i)}, 1<<20)
		d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(blob), Size: int64(len(blob))}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, s := range []*Store{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = content.WriteBlob(ctx, s.Content(), "layer-"+d.Digest.String(), bytes.NewReader(blob), d)
			}()
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Fatalf("round %d, writer %d: %v", i, j, err)
			}
		}
	}

	if n := s1.removeIngests(); n < 0 {
		t.Fatal(n)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, ingestLocks)); len(ents) != 0 {
		t.Errorf("%d lock files left after the ingests were dropped", len(ents))
	}
}
