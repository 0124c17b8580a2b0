package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/builder-dev/builder/filters"
	"github.com/builder-dev/builder/store"
	"github.com/sirupsen/logrus"
)

func tarOf(entries ...[2]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		tw.WriteHeader(&tar.Header{Name: e[0], Mode: 0644, Size: int64(len(e[1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(e[1]))
	}
	tw.Close()
	return buf.Bytes()
}

// FuzzLoad: load of any archive either names complete images or fails,
// never panics, and writes nothing outside the store's directory.
func FuzzLoad(f *testing.F) {
	logrus.SetOutput(io.Discard)
	f.Add(tarOf([2]string{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`}, [2]string{"index.json", `{"schemaVersion":2,"manifests":[]}`}))
	f.Add(tarOf([2]string{"manifest.json", `[{"Config":"c.json","RepoTags":["x:1"],"Layers":["l/layer.tar"]}]`},
		[2]string{"c.json", `{"rootfs":{"type":"layers","diff_ids":[]}}`}, [2]string{"l/layer.tar", ""}))
	f.Add(tarOf([2]string{"../escape", "x"}))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Add([]byte{})
	root := f.TempDir()
	sentinel := filepath.Join(root, "sentinel")
	os.WriteFile(sentinel, []byte("keep"), 0644)
	st, err := store.Open(filepath.Join(root, "images"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, archive []byte) {
		ctx := context.Background()
		err := Load(ctx, st, LoadOptions{Stdin: bytes.NewReader(archive), Stdout: io.Discard})
		imgs, lerr := st.List(ctx)
		if lerr != nil {
			t.Fatalf("the store no longer lists after a load (%v): %v", err, lerr)
		}
		for _, img := range imgs {
			if _, derr := st.Details(ctx, img.Target); derr != nil && !strings.Contains(derr.Error(), "platform") {
				t.Fatalf("load (err %v) named an incomplete image %s: %v", err, img.Name, derr)
			}
		}
		ents, _ := os.ReadDir(root)
		for _, e := range ents {
			if e.Name() != "images" && e.Name() != "sentinel" {
				t.Fatalf("load wrote %s outside the store", e.Name())
			}
		}
		if dt, _ := os.ReadFile(sentinel); string(dt) != "keep" {
			t.Fatal("load changed a file beside the store")
		}
	})
}

// FuzzFilters: any --filter value for images and image prune is taken or
// refused with an error, never a panic.
func FuzzFilters(f *testing.F) {
	for _, s := range []string{"dangling=true", "label=a=b", "label!=x", "until=24h", "until=2006-01-02", "reference=bus*",
		"before=nosuch", "since=x", "bogus=1", "=", "", "dangling=maybe"} {
		f.Add(s)
	}
	st, err := store.Open(filepath.Join(f.TempDir(), "images"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ctx := context.Background()
		if pred, err := listFilter(ctx, st, []string{v}); err == nil {
			pred(store.Image{Name: "docker.io/library/x:latest"}, store.Details{})
			pred(store.Image{}, store.Details{})
		}
		if f, err := filters.ParsePrune([]string{v}, time.Now()); err == nil {
			f.Match(time.Now(), map[string]string{"a": "b"})
		}
	})
}
