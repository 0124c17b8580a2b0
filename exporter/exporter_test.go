package exporter

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		typ     string
		dest    string
		wantErr string
	}{
		{in: "type=docker,dest=f.tar", typ: "docker", dest: "f.tar"},
		{in: "type=oci,dest=-", typ: "oci", dest: "-"},
		{in: "type=local,dest=out", typ: "local", dest: "out"},
		{in: "out", typ: "local", dest: "out"},
		{in: "-", typ: "tar", dest: "-"},
		{in: "type=image,name=r/x:1,push=true", typ: "image"},
		{in: "type=docker", typ: "docker"},
		{in: "type=bogus,dest=x", wantErr: `unknown output type "bogus"`},
		{in: "dest=x,compression=gzip", wantErr: "type=<type> is required"},
		{in: "type=local", wantErr: "needs dest=PATH"},
		{in: "type=tar", wantErr: "needs dest=PATH"},
		{in: "type=oci", wantErr: "needs dest=PATH"},
		{in: "type=registry,dest=x", wantErr: "takes no dest"},
	} {
		sp, err := Parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) error = %v; want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if sp.Type != tc.typ || sp.Dest != tc.dest {
			t.Errorf("Parse(%q) = %s %s; want %s %s", tc.in, sp.Type, sp.Dest, tc.typ, tc.dest)
		}
	}
}

func TestNewPlan(t *testing.T) {
	t.Parallel()
	p, err := NewPlan(nil, []string{"docker.io/library/hello:latest"}, false, nil, nil, false)
	if err != nil || !p.Store || len(p.Entries) != 1 || p.Entries[0].Type != "oci" {
		t.Fatalf("default plan = %+v, %v; want one store entry", p, err)
	}
	p, err = NewPlan(nil, []string{"r/x:1"}, true, nil, nil, false)
	if err != nil || len(p.Entries) != 2 || p.Entries[1].Attrs["push"] != "true" {
		t.Fatalf("--push plan = %+v, %v; want store + push", p, err)
	}
	if _, err := NewPlan(nil, nil, true, nil, nil, false); err == nil {
		t.Fatal("--push without -t succeeded")
	}
	sp, _ := Parse("type=registry")
	if _, err := NewPlan([]Spec{sp}, nil, false, nil, nil, false); err == nil {
		t.Fatal("type=registry without a name succeeded")
	}
}

// Images leaving builder get one compression for every layer; the store
// keeps its layers uncompressed.
func TestPlanCompression(t *testing.T) {
	t.Parallel()
	specs := []Spec{}
	for _, s := range []string{"type=docker,dest=/tmp/x.tar", "type=oci,dest=/tmp/y.tar", "type=registry,compression=zstd", "type=docker"} {
		sp, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, sp)
	}
	p, err := NewPlan(specs, []string{"r/x:1"}, true, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ typ, compression, force string }{
		{"docker", "gzip", "true"}, {"oci", "gzip", "true"}, {"image", "zstd", "true"}, {"oci", "uncompressed", ""}, {"image", "gzip", "true"},
	}
	if len(p.Entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(p.Entries), len(want))
	}
	for i, w := range want {
		e := p.Entries[i]
		if e.Type != w.typ || e.Attrs["compression"] != w.compression || e.Attrs["force-compression"] != w.force {
			t.Errorf("entry %d: %s %v; want %s compression=%s force-compression=%s", i, e.Type, e.Attrs, w.typ, w.compression, w.force)
		}
	}
}

func TestPublished(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		outputs []string
		push    bool
		want    bool
	}{
		{nil, false, false}, {nil, true, true},
		{[]string{"type=docker"}, false, false}, {[]string{"type=docker,dest=x.tar"}, false, false},
		{[]string{"type=local,dest=d"}, false, false}, {[]string{"type=tar,dest=t"}, false, false},
		{[]string{"type=oci,dest=x.tar"}, false, true}, {[]string{"type=image,name=r/x"}, false, true},
		{[]string{"type=registry,name=r/x"}, false, true}, {[]string{"type=local,dest=d", "type=oci,dest=o"}, false, true},
	} {
		var specs []Spec
		for _, o := range c.outputs {
			sp, err := Parse(o)
			if err != nil {
				t.Fatal(err)
			}
			specs = append(specs, sp)
		}
		if got := Published(specs, c.push); got != c.want {
			t.Errorf("Published(%v, push=%v) = %v, want %v", c.outputs, c.push, got, c.want)
		}
	}
}
