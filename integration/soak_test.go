//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrencySoak: 4 processes each run 40 mixed operations (build,
// pull, tag, rmi, image prune, run --rm, commit) on one root, each under a
// timeout. Afterwards no tag a worker made and did not remove is lost, no
// listed image misses a blob, and nothing hung.
func TestConcurrencySoak(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nARG N\nRUN echo $N > /n\n"})
	const workers, ops = 4, 40
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	var wg sync.WaitGroup
	var mu sync.Mutex
	kept := map[string]bool{} // familiar name:tag → made and not removed
	done, failed := 0, 0
	for w := 0; w < workers; w++ {
		e.must("run", "--name", fmt.Sprintf("soak%d", w), "busybox", "sh", "-c", fmt.Sprintf("echo %d > /w", w))
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed + int64(w)))
			var mine []string
			run := func(args ...string) bool {
				opCtx, opCancel := context.WithTimeout(ctx, 90*time.Second)
				defer opCancel()
				out, err := e.cmd(opCtx, args...).CombinedOutput()
				mu.Lock()
				defer mu.Unlock()
				done++
				if err != nil {
					failed++
					t.Errorf("worker %d: %v: %v\n%s", w, args, err, out)
					return false
				}
				return true
			}
			for i := 0; i < ops && ctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d:latest", w, i)
				switch k := rng.Intn(10); {
				case k < 2:
					if run("build", "-q", "--build-arg", fmt.Sprintf("N=%d-%d", w, i), "-t", name, dir) {
						mine = append(mine, name)
					}
				case k < 3:
					run("pull", "-q", "busybox:musl")
				case k < 5:
					if run("tag", "busybox", name) {
						mine = append(mine, name)
					}
				case k < 6:
					if len(mine) > 0 {
						j := rng.Intn(len(mine))
						if run("rmi", mine[j]) {
							mine = append(mine[:j], mine[j+1:]...)
						}
					}
				case k < 7:
					run("image", "prune", "-f")
				case k < 9:
					run("run", "--rm", "busybox", "true")
				default:
					if run("commit", fmt.Sprintf("soak%d", w), name) {
						mine = append(mine, name)
					}
				}
			}
			mu.Lock()
			for _, n := range mine {
				kept[n] = true
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Errorf("the soak did not finish in 4 minutes (%d operations done)", done)
	}
	fmt.Printf("soak: %d workers, %d operations, %d failed\n", workers, done, failed)
	listed := map[string]bool{}
	for _, l := range strings.Split(e.must("images", "--format", "{{.Repository}}:{{.Tag}}").stdout, "\n") {
		listed[l] = true
	}
	for n := range kept {
		if !listed[n] {
			t.Errorf("tag %s was made, never removed, and is gone", n)
		}
	}
	var idx struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	dt, _ := os.ReadFile(filepath.Join(e.root, "images", "index.json"))
	json.Unmarshal(dt, &idx)
	for _, m := range idx.Manifests {
		if err := wholeImage(e, m.Digest); err != nil {
			t.Errorf("listed image %s: %v", m.Digest, err)
		}
	}
	for w := 0; w < workers; w++ {
		if r := e.run("start", "-a", fmt.Sprintf("soak%d", w)); r.code != 0 {
			t.Errorf("container soak%d after the soak: %s", w, r)
		}
	}
}
