package exporter

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
)

func TestParseAnnotations(t *testing.T) {
	t.Parallel()
	got, err := ParseAnnotations([]string{"a=1", "manifest,index:b=2", "manifest[linux/arm64]:c=3", "index-descriptor:d=e=f", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"annotation.a":                       "1",
		"annotation-manifest.b":              "2",
		"annotation-index.b":                 "2",
		"annotation-manifest[linux/arm64].c": "3",
		"annotation-index-descriptor.d":      "e=f",
	}
	if len(got) != len(want) {
		t.Fatalf("ParseAnnotations = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q; want %q (all: %v)", k, got[k], v, got)
		}
	}
	for in, msg := range map[string]string{"novalue": "want KEY=VALUE", "layer:k=v": "unknown annotation type", "manifest[bad platform]:k=v": "invalid annotation type", "manifest[linux/x/y/z]:k=v": "invalid platform"} {
		if _, err := ParseAnnotations([]string{in}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseAnnotations(%q) = %v; want %q", in, err, msg)
		}
	}
}

func TestAnnotate(t *testing.T) {
	t.Parallel()
	p := &Plan{Entries: []client.ExportEntry{
		{Type: client.ExporterOCI, Attrs: map[string]string{"annotation.a": "mine"}},
		{Type: client.ExporterLocal, Attrs: map[string]string{}},
		{Type: client.ExporterImage, Attrs: map[string]string{}},
	}}
	p.Annotate(map[string]string{"annotation.a": "flag", "annotation.b": "2"})
	if a := p.Entries[0].Attrs; a["annotation.a"] != "mine" || a["annotation.b"] != "2" {
		t.Errorf("oci: %v", a)
	}
	if len(p.Entries[1].Attrs) != 0 {
		t.Errorf("local got %v", p.Entries[1].Attrs)
	}
	if a := p.Entries[2].Attrs; a["annotation.a"] != "flag" {
		t.Errorf("image: %v", a)
	}
}
