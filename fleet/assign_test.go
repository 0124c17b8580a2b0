package fleet

import (
	"reflect"
	"testing"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func plats(ss ...string) []ocispec.Platform {
	var out []ocispec.Platform
	for _, s := range ss {
		out = append(out, platforms.MustParse(s))
	}
	return out
}

func TestAssign(t *testing.T) {
	t.Parallel()
	amd := Node{Addr: "a", Platforms: plats("linux/amd64", "linux/arm64", "linux/arm/v7")}
	amd2 := Node{Addr: "b", Platforms: plats("linux/amd64", "linux/arm64")}
	arm := Node{Addr: "c", Platforms: plats("linux/arm64", "linux/amd64")}
	for _, tc := range []struct {
		name  string
		want  []string
		nodes []Node
		got   map[string]int
	}{
		{"native first", []string{"linux/amd64", "linux/arm64"}, []Node{amd, arm}, map[string]int{"linux/amd64": 0, "linux/arm64": 1}},
		{"native first, order of nodes does not matter", []string{"linux/arm64", "linux/amd64"}, []Node{arm, amd}, map[string]int{"linux/arm64": 0, "linux/amd64": 1}},
		{"emulated spread over equal nodes", []string{"linux/amd64", "linux/arm64"}, []Node{amd, amd2}, map[string]int{"linux/amd64": 0, "linux/arm64": 1}},
		{"only one reports it", []string{"linux/arm/v7"}, []Node{amd2, amd}, map[string]int{"linux/arm/v7": 1}},
		{"one node, all", []string{"linux/amd64", "linux/arm64"}, []Node{amd}, map[string]int{"linux/amd64": 0, "linux/arm64": 0}},
	} {
		got, err := Assign(tc.want, tc.nodes)
		if err != nil || !reflect.DeepEqual(got, tc.got) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.got)
		}
	}
	if _, err := Assign([]string{"linux/s390x"}, []Node{amd, arm}); err == nil {
		t.Error("a platform no node reports was assigned")
	}
}
