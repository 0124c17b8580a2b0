//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// builtDigest builds dir on a new empty root with extra args and env and
// returns the manifest digest from --metadata-file.
func builtDigest(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	e := newEnv(t)
	md := filepath.Join(t.TempDir(), "md.json")
	cmd := e.cmd(t.Context(), append(append([]string{"build", "--metadata-file", md, "-t", "repro"}, args...), dir)...)
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dt, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(dt, &m)
	d, _ := m["containerimage.digest"].(string)
	if d == "" {
		t.Fatalf("no containerimage.digest in %s", dt)
	}
	return d
}

// TestReproducible: SOURCE_DATE_EPOCH (from the environment, as buildx
// reads it, or --build-arg) and rewrite-timestamp=true give the same
// manifest digest on two empty roots, although RUN writes files at
// different times; without them the digests differ.
func TestReproducible(t *testing.T) {
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f /f\nRUN echo built > /built && mkdir /d\n", "f": "x\n"})
	// The context file's own time must not matter either.
	os.Chtimes(filepath.Join(dir, "f"), time.Now(), time.Now())
	epoch := []string{"SOURCE_DATE_EPOCH=1700000000"}
	a := builtDigest(t, dir, epoch, "-o", "type=docker,rewrite-timestamp=true")
	time.Sleep(1100 * time.Millisecond) // another second for every time stamp
	os.Chtimes(filepath.Join(dir, "f"), time.Now(), time.Now())
	b := builtDigest(t, dir, epoch, "-o", "type=docker,rewrite-timestamp=true")
	if a != b {
		t.Errorf("SOURCE_DATE_EPOCH + rewrite-timestamp: %s, then %s; want equal", a, b)
	}
	c := builtDigest(t, dir, nil, "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "-o", "type=docker,rewrite-timestamp=true")
	if c != a {
		t.Errorf("--build-arg SOURCE_DATE_EPOCH: %s; from the environment %s", c, a)
	}
	x := builtDigest(t, dir, nil)
	time.Sleep(1100 * time.Millisecond)
	y := builtDigest(t, dir, nil)
	if x == y {
		t.Errorf("without SOURCE_DATE_EPOCH two builds gave %s: the test cannot tell", x)
	}
	// Two platforms, a RUN in each (one emulated).
	needEmulation(t)
	multi := writeContext(t, map[string]string{"Dockerfile": "FROM busybox-multi\nRUN uname -m > /arch && mkdir /d\n"})
	ma := builtDigest(t, multi, epoch, "--platform", "linux/amd64,linux/arm64", "-o", "type=docker,rewrite-timestamp=true")
	time.Sleep(1100 * time.Millisecond)
	mb := builtDigest(t, multi, epoch, "--platform", "linux/amd64,linux/arm64", "-o", "type=docker,rewrite-timestamp=true")
	if ma != mb {
		t.Errorf("two-platform build: %s, then %s; want equal", ma, mb)
	}
	e := newEnv(t)
	if r := e.run("build", "--build-arg", "SOURCE_DATE_EPOCH=yesterday", dir); r.code == 0 {
		t.Errorf("SOURCE_DATE_EPOCH=yesterday built: %s", r)
	}
}
