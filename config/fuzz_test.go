package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: any config file is read or refused with an error naming it,
// never a panic.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"[registry.\"docker.io\"]\n  mirrors = [\"127.0.0.1:5000\"]\n", "[worker.oci]\n  maxUsedSpace = \"20GB\"\n",
		"[[worker.oci.gcpolicy]]\n  keepDuration = \"48h\"\n", "[registry.\"x\"]\n  http = true\n  insecure = true\n  ca = [\"/nonexistent\"]\n", "=", "[[", ""} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, []byte(s), 0644); err != nil {
			t.Fatal(err)
		}
		Load(p, dir)
	})
}
