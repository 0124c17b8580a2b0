//go:build integration

package integration

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/go-units"
)

// buildCacheSize reads the Build Cache SIZE column of `system df`.
func (e *env) buildCacheSize() int64 {
	e.t.Helper()
	df := e.must("system", "df").stdout
	m := regexp.MustCompile(`(?m)^Build Cache\s+\d+\s+\d+\s+(\S+)`).FindStringSubmatch(df)
	if m == nil {
		e.t.Fatalf("no Build Cache row in system df:\n%s", df)
	}
	n, err := units.FromHumanSize(m[1])
	if err != nil {
		e.t.Fatalf("Build Cache size %q: %v", m[1], err)
	}
	return n
}

// TestBuildCacheCollected: the build cache follows [worker.oci]'s limits
// as buildkitd's does, although no builder process lives long enough for
// BuildKit's own GC timer (a second after a build) to fire; under the
// default limits the cache is kept and the rebuild is cached. Stored images
// never depend on the build cache.
func TestBuildCacheCollected(t *testing.T) {
	files := map[string]string{"Dockerfile": "FROM scratch\nCOPY big1 /\nCOPY big2 /\n"}
	dir := writeContext(t, files)
	for _, f := range []string{"big1", "big2"} {
		b := make([]byte, 5<<20)
		rand.Read(b)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0644); err != nil {
			t.Fatal(err)
		}
	}

	kept := newEnv(t)
	kept.must("build", "-t", "big", dir)
	if n := kept.buildCacheSize(); n < 10<<20 {
		t.Errorf("default limits: build cache %d bytes after a 10 MB build; the cache was collected", n)
	}
	if r := kept.must("build", "-t", "big", dir); !strings.Contains(r.stderr, "CACHED") {
		t.Errorf("rebuild under default limits was not cached:\n%s", r.stderr)
	}

	capped := newEnv(t)
	cfg, err := os.ReadFile(filepath.Join(capped.root, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, "[worker.oci]\n  reservedSpace = \"1MB\"\n  maxUsedSpace = \"2MB\"\n"...)
	if err := os.WriteFile(filepath.Join(capped.root, "config.toml"), cfg, 0644); err != nil {
		t.Fatal(err)
	}
	capped.must("build", "-t", "big", dir)
	if n := capped.buildCacheSize(); n > 2e6 {
		t.Errorf("maxUsedSpace = 2MB: build cache is %d bytes after the build", n)
	}
	// The image itself is whole: it saves, every blob read back.
	capped.must("save", "-o", filepath.Join(t.TempDir(), "big.tar"), "big")
}
