//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKillSweep: each mutating verb is started and SIGKILLed at a random
// moment within its own running time, again and again (issue 8's kill -9
// sweep). After each kill: images answers, every listed image and every
// container's image is whole (each blob present with its digest), and once
// the next command has run no mount, scratch directory, ingest or runc
// container of the killed one is left; then the killed command, run again,
// succeeds.
func TestKillSweep(t *testing.T) {
	e := newEnv(t)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	e.must("pull", "-q", "busybox")
	e.must("run", "--name", "fat", "busybox", "sh", "-c", "dd if=/dev/urandom of=/fat bs=1M count=24 2>/dev/null")
	runDir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nARG N\nRUN sleep 0.3 && echo $N > /n\n"})
	exportDir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nARG N\nRUN dd if=/dev/urandom of=/big bs=1M count=24 2>/dev/null && echo $N > /n\n"})
	archive := filepath.Join(t.TempDir(), "bb.tar")
	e.must("save", "-o", archive, "busybox")
	rootfsTar := filepath.Join(t.TempDir(), "rootfs.tar")
	e.must("export", "-o", rootfsTar, "fat")
	tiny := filepath.Join(t.TempDir(), "tiny.tar")
	os.WriteFile(tiny, writeTar([]entry{{name: "f", data: []byte("tiny")}}), 0644)
	pushRef := s.registry + "/sweep/fat"
	e.must("commit", "fat", pushRef)

	type verb struct {
		name  string
		prep  func(i int)          // puts the store where the verb has work to do
		args  func(i int) []string // the command killed, then run again
		again func(i int) bool     // whether the rerun must still succeed
	}
	always := func(int) bool { return true }
	named := func(ref string) bool { return e.run("inspect", "-f", "{{.Id}}", ref).code == 0 }
	verbs := []verb{
		{"build (RUN)", func(int) {}, func(i int) []string {
			return []string{"build", "-q", "--build-arg", fmt.Sprint("N=", i), "-t", "swept", runDir}
		}, always},
		{"build (export)", func(int) {}, func(i int) []string {
			return []string{"build", "-q", "--build-arg", fmt.Sprint("N=", i), "-t", "exported", exportDir}
		}, always},
		{"pull", func(int) { e.run("rmi", "-f", "busybox:1.31") }, func(int) []string { return []string{"pull", "-q", "busybox:1.31"} }, always},
		{"push", func(i int) { e.must("tag", pushRef, fmt.Sprintf("%s:%d", pushRef, i)) },
			func(i int) []string { return []string{"push", "-q", fmt.Sprintf("%s:%d", pushRef, i)} }, always},
		{"load", func(int) { e.run("rmi", "-f", "busybox") }, func(int) []string { return []string{"load", "-q", "-i", archive} }, always},
		{"import", func(int) {}, func(i int) []string { return []string{"import", rootfsTar, fmt.Sprint("imported:", i)} }, always},
		{"commit", func(int) {}, func(i int) []string { return []string{"commit", "fat", fmt.Sprint("committed:", i)} }, always},
		{"tag", func(int) {}, func(i int) []string { return []string{"tag", "busybox", fmt.Sprint("tagged:", i)} }, always},
		{"rmi", func(i int) { e.must("tag", "busybox", fmt.Sprint("gone:", i)) }, func(i int) []string { return []string{"rmi", fmt.Sprint("gone:", i)} },
			func(i int) bool { return named(fmt.Sprint("gone:", i)) }},
		{"image prune", func(int) {
			e.must("build", "-q", "--build-arg", fmt.Sprint("N=", rng.Int()), "-t", "dangle", runDir)
			e.must("build", "-q", "--build-arg", fmt.Sprint("N=", rng.Int()), "-t", "dangle", runDir)
		}, func(int) []string { return []string{"image", "prune", "-f"} }, always},
		{"container rm", func(i int) { e.must("run", "--name", fmt.Sprint("rm", i), "busybox", "true") },
			func(i int) []string { return []string{"rm", fmt.Sprint("rm", i)} },
			func(i int) bool { return e.run("diff", fmt.Sprint("rm", i)).code == 0 }},
	}
	strayBefore := len(strayMounts(t))
	kills, checks := 0, 0
	deadline := time.Now().Add(6 * time.Minute)
	const rounds = 6
	for _, v := range verbs {
		// How long the verb takes here, so kills fall within it.
		v.prep(999)
		start := time.Now()
		e.must(v.args(999)...)
		took := time.Since(start)
		for i := 0; i < rounds && time.Now().Before(deadline); i++ {
			v.prep(i)
			cmd := e.cmd(t.Context(), v.args(i)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.Int63n(int64(took) + 1)))
			cmd.Process.Kill()
			cmd.Wait()
			kills++
			checks += checkAfterKill(t, e, v.name, strayBefore, tiny)
			if v.again(i) {
				if r := e.run(v.args(i)...); r.code != 0 {
					t.Errorf("%s: rerun after a kill failed: %s", v.name, r)
				} else {
					checks++
				}
			}
		}
	}
	t.Logf("%d kills, %d checks passed", kills, checks)
	fmt.Printf("kill sweep: %d kills, %d checks passed\n", kills, checks)
	if kills < 60 {
		t.Errorf("only %d kills in the time allowed", kills)
	}
}

// checkAfterKill checks the root after a killed command and returns how
// many checks passed.
func checkAfterKill(t *testing.T, e *env, verb string, strayBefore int, tiny string) int {
	t.Helper()
	n := 0
	fail := func(format string, args ...any) { t.Errorf(verb+": after a kill: "+format, args...) }
	if r := e.run("images"); r.code != 0 {
		fail("images: %s", r)
	} else {
		n++
	}
	// Every listed image, and every container's image, is whole.
	var idx struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	dt, _ := os.ReadFile(filepath.Join(e.root, "images", "index.json"))
	json.Unmarshal(dt, &idx)
	targets := map[string]string{}
	for _, m := range idx.Manifests {
		targets[m.Digest] = "listed image"
	}
	ctrs, _ := filepath.Glob(filepath.Join(e.root, "containers", "*", "container.json"))
	for _, c := range ctrs {
		var rec struct {
			Name   string
			Target struct{ Digest string }
		}
		if dt, err := os.ReadFile(c); err == nil && json.Unmarshal(dt, &rec) == nil {
			targets[rec.Target.Digest] = "image of container " + rec.Name
		}
	}
	for d, what := range targets {
		if err := wholeImage(e, d); err != nil {
			fail("%s %s: %v", what, d, err)
		} else {
			n++
		}
	}
	// The next command swept what the killed one left.
	if m := scratchMounts(t, e); len(m) > 0 {
		fail("scratch mounts left after the next command: %v", m)
	} else {
		n++
	}
	if got := strayMounts(t); len(got) > strayBefore {
		fail("mounts outside the root: %v", got)
	} else {
		n++
	}
	if ents, _ := os.ReadDir(filepath.Join(e.root, "tmp")); len(ents) > 0 {
		fail("%d scratch directories left", len(ents))
	} else {
		n++
	}
	// A writer's start drops what a killed one was ingesting.
	e.must("import", tiny, "probe")
	if ents, _ := os.ReadDir(filepath.Join(e.root, "images", "ingest")); len(ents) > 0 {
		fail("%d ingests left after the next writer", len(ents))
	} else {
		n++
	}
	if out, _ := exec.Command(s.runc, "--root", filepath.Join(e.root, "runc"), "list", "-q").Output(); strings.TrimSpace(string(out)) != "" {
		// Containers of our own (none run in the background here).
		fail("runc containers left: %s", out)
	} else {
		n++
	}
	return n
}

// wholeImage checks that the manifest or index dgst and every blob it
// reaches are in the store with their digests (an index may lack the
// platforms a pull did not fetch).
func wholeImage(e *env, dgst string) error {
	blob := func(d string) ([]byte, error) {
		dt, err := os.ReadFile(filepath.Join(e.root, "images", "blobs", strings.Replace(d, ":", "/", 1)))
		if err != nil {
			return nil, err
		}
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(dt)); got != d {
			return nil, fmt.Errorf("blob %s holds %s", d, got)
		}
		return dt, nil
	}
	dt, err := blob(dgst)
	if err != nil {
		return err
	}
	var m struct {
		Manifests []struct{ Digest string }
		Config    struct{ Digest string }
		Layers    []struct{ Digest string }
	}
	if err := json.Unmarshal(dt, &m); err != nil {
		return err
	}
	if len(m.Manifests) > 0 {
		for _, c := range m.Manifests {
			if _, err := os.Stat(filepath.Join(e.root, "images", "blobs", strings.Replace(c.Digest, ":", "/", 1))); err == nil {
				if err := wholeImage(e, c.Digest); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if _, err := blob(m.Config.Digest); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for _, l := range m.Layers {
		if _, err := blob(l.Digest); err != nil {
			return fmt.Errorf("layer: %w", err)
		}
	}
	return nil
}
