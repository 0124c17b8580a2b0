package cache

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/moby/buildkit/client"
)

func TestParseOptions(t *testing.T) {
	t.Setenv("ACTIONS_RUNTIME_TOKEN", "tok")
	t.Setenv("ACTIONS_CACHE_URL", "https://cache/")
	have := t.TempDir()
	os.WriteFile(filepath.Join(have, "index.json"), []byte(`{}`), 0644)
	for _, c := range []struct {
		dir  Direction
		in   string
		want *client.CacheOptionsEntry // nil: dropped
	}{
		{To, "reg.example/c:1", &client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": "reg.example/c:1", "mode": "min"}}},
		{From, "reg.example/c:1", &client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": "reg.example/c:1"}}},
		{To, "type=registry,ref=r/c,mode=max,image-manifest=true", &client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": "r/c", "mode": "max", "image-manifest": "true"}}},
		{To, "type=inline", &client.CacheOptionsEntry{Type: "inline", Attrs: map[string]string{"mode": "min"}}},
		{To, "type=gha,scope=x", &client.CacheOptionsEntry{Type: "gha", Attrs: map[string]string{"scope": "x", "mode": "min", "token": "tok", "url": "https://cache/"}}},
		{From, "type=local,src=" + have, &client.CacheOptionsEntry{Type: "local", Attrs: map[string]string{"src": have}}},
		{From, "type=local,src=" + filepath.Join(have, "none"), nil},
	} {
		got, err := ParseOptions(c.dir, []string{c.in})
		if err != nil {
			t.Errorf("%s %q: %v", c.dir, c.in, err)
			continue
		}
		if c.want == nil {
			if len(got) != 0 {
				t.Errorf("%s %q = %v; want it dropped", c.dir, c.in, got)
			}
			continue
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], *c.want) {
			t.Errorf("%s %q = %+v; want %+v", c.dir, c.in, got, *c.want)
		}
	}
}
