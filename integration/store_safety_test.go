//go:build integration

package integration

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPrune: dangling images go by default, -a takes the rest, filters
// and the confirmation prompt hold.
func TestPrune(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nARG V\nLABEL v=$V\nCOPY f$V /f\n",
		// A layer of its own per build: BuildKit dates an image by its
		// newest layer-making step, so cached steps would share one time.
		"f1": "1", "f2": "2", "f3": "3", "fkeep": "k"})
	e.must("build", "--build-arg", "V=1", "-t", "app", dir)
	e.must("build", "--build-arg", "V=2", "-t", "app", dir) // the first becomes <none>
	if out := e.must("images", "--format", "{{.Repository}}:{{.Tag}}").stdout; out != "app:latest\n<none>:<none>\n" {
		t.Fatalf("images before prune: %q", out)
	}
	// Answering no keeps everything.
	if r := e.runIn([]byte("n\n"), "image", "prune"); r.code != 0 || !strings.Contains(r.stdout, "Are you sure you want to continue? [y/N]") {
		t.Errorf("prune prompt: %s", r)
	}
	if n := strings.Count(e.must("images", "-q").stdout, "\n"); n != 2 {
		t.Errorf("after answering no: %d images", n)
	}
	r := e.runIn([]byte("y\n"), "image", "prune")
	if !strings.Contains(r.stdout, "Deleted Images:\ndeleted: sha256:") || !strings.Contains(r.stdout, "Total reclaimed space:") {
		t.Errorf("prune printed:\n%s", r.stdout)
	}
	if out := e.must("images", "--format", "{{.Repository}}").stdout; out != "app\n" {
		t.Errorf("after prune: %q", out)
	}
	e.must("build", "--build-arg", "V=keep", "-t", "kept", dir)
	e.must("image", "prune", "-a", "-f", "--filter", "label!=v=keep")
	if out := e.must("images", "--format", "{{.Repository}}").stdout; out != "kept\n" {
		t.Errorf("after prune -a --filter label!=v=keep: %q", out)
	}
	if r := e.run("image", "prune", "-f", "--filter", "bogus=1"); r.code == 0 || !strings.Contains(r.stderr, "bogus") {
		t.Errorf("unknown filter: %s", r)
	}
}

// TestBuildCacheCommands: builder prune and system df, as docker names them.
func TestBuildCacheCommands(t *testing.T) {
	e := newEnv(t)
	e.must("build", "-t", "c", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo cached > /c\n"}))
	df := e.must("system", "df").stdout
	for _, want := range []string{"TYPE", "RECLAIMABLE", "Images", "Build Cache"} {
		if !strings.Contains(df, want) {
			t.Errorf("system df lacks %q:\n%s", want, df)
		}
	}
	r := e.must("builder", "prune", "-a", "-f")
	if !strings.Contains(r.stdout, "Deleted build cache objects:") || !strings.Contains(r.stdout, "Total reclaimed space:") {
		t.Errorf("builder prune printed:\n%s", r.stdout)
	}
	// The stored image does not depend on the build cache.
	if got := e.must("run", "--rm", "c", "cat", "/c").stdout; got != "cached\n" {
		t.Errorf("image after cache prune: %q", got)
	}
}

// TestConcurrentIndexWrites: processes writing the store's index at the
// same moment never lose an entry (skopeo#2184, go-containerregistry#849).
func TestConcurrentIndexWrites(t *testing.T) {
	e := newEnv(t)
	e.must("build", "-t", "src", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x"}))
	archive := filepath.Join(t.TempDir(), "other.tar")
	other := newEnv(t)
	other.must("build", "-t", "loaded", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "y"}))
	other.must("save", "-o", archive, "loaded")

	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				if r := e.run("tag", "src", fmt.Sprintf("t%d-%d", w, i)); r.code != 0 {
					errs <- r.String()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if r := e.run("load", "-i", archive); r.code != 0 {
			errs <- r.String()
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	out := e.must("images", "--format", "{{.Repository}}").stdout
	for w := 0; w < 4; w++ {
		for i := 0; i < 8; i++ {
			if !strings.Contains(out, fmt.Sprintf("t%d-%d\n", w, i)) {
				t.Errorf("lost t%d-%d", w, i)
			}
		}
	}
	if !strings.Contains(out, "loaded\n") || !strings.Contains(out, "src\n") {
		t.Errorf("lost src or loaded:\n%s", out)
	}
}

// TestRemoveDuringBuild: removing (and pruning) the base image while a
// build that uses it runs in another process deletes nothing the build
// needs; the built image is whole afterwards.
func TestRemoveDuringBuild(t *testing.T) {
	e := newEnv(t)
	e.must("build", "-t", "base", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY big /big\n", "big": strings.Repeat("base layer\n", 100000)}))
	app := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY --from=base /big /big\nRUN sleep 3 && wc -l /big > /count\n"})
	done := make(chan result, 1)
	go func() { done <- e.run("build", "-t", "app", app) }()
	time.Sleep(1500 * time.Millisecond)
	e.must("rmi", "base")
	e.must("image", "prune", "-a", "-f", "--filter", "label=nothing")
	r := <-done
	if r.code != 0 {
		t.Fatalf("build during rmi: %s", r)
	}
	if got := e.must("run", "--rm", "app", "cat", "/count").stdout; !strings.HasPrefix(got, "100000 ") {
		t.Errorf("app after rmi of its base: %q", got)
	}
	// Once nothing is writing, a prune collects what rmi left.
	before := countBlobs(t, e.root)
	e.must("image", "prune", "-f")
	if after := countBlobs(t, e.root); after >= before {
		t.Errorf("blobs %d before the quiet prune, %d after: the base's were not collected", before, after)
	}
	if got := e.must("run", "--rm", "app", "cat", "/count").stdout; !strings.HasPrefix(got, "100000 ") {
		t.Errorf("app after prune: %q", got)
	}
}

// TestKilledLoad: a load killed half-way lists no half image, and a rerun
// succeeds.
func TestKilledLoad(t *testing.T) {
	e := newEnv(t)
	src := newEnv(t)
	src.must("build", "-t", "big", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY big /big\n", "big": strings.Repeat("0123456789abcdef", 1<<20)}))
	archive := filepath.Join(t.TempDir(), "big.tar")
	src.must("save", "-o", archive, "big")
	dt, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	before := e.storeState()
	cmd := e.cmd(t.Context(), "load")
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Write(dt[:len(dt)/2])
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	if e.storeState() != before {
		t.Error("a killed load changed the store's index")
	}
	if out := e.must("images", "-q").stdout; out != "" {
		t.Errorf("images after a killed load: %q", out)
	}
	if got := e.runIn(dt, "load").stdout; got != "Loaded image: big:latest\n" {
		t.Errorf("rerun printed %q", got)
	}
	if !bytes.Contains([]byte(e.must("images").stdout), []byte("big")) {
		t.Error("big not listed after the rerun")
	}
}

// TestKilledPull: a pull killed mid-way lists no half image, and a rerun
// succeeds.
func TestKilledPull(t *testing.T) {
	src := newEnv(t)
	ref := s.registry + "/killed/pull:v1"
	src.must("build", "-t", ref, writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY big /big\n",
		"big": strings.Repeat("0123456789abcdef", 8<<20)}))
	src.must("push", ref)
	e := newEnv(t)
	before := e.storeState()
	cmd := e.cmd(t.Context(), "pull", ref)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the pull has begun, before the 128 MB layer is in.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "Pulling from") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if strings.Contains(stdout.String(), "Status:") {
		t.Skip("the pull finished before it could be killed")
	}
	if e.storeState() != before {
		t.Error("a killed pull changed the store's index")
	}
	if out := e.must("images", "-q").stdout; out != "" {
		t.Errorf("images after a killed pull: %q", out)
	}
	if out := e.must("pull", ref).stdout; !strings.Contains(out, "Status: Downloaded newer image") {
		t.Errorf("rerun printed:\n%s", out)
	}
}

// TestLoadGzipBomb: an archive that decompresses to gigabytes fails
// cleanly, quickly and with memory bounded; it is streamed, never inflated
// whole.
func TestLoadGzipBomb(t *testing.T) {
	e := newEnv(t)
	before := e.storeState()
	// 4 GiB of one repeated tar header-sized block of 'x': a few MB of gzip.
	pr, pw := io.Pipe()
	go func() {
		zw := gzip.NewWriter(pw)
		block := bytes.Repeat([]byte("x"), 1<<20)
		for i := 0; i < 4096; i++ {
			if _, err := zw.Write(block); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		zw.Close()
		pw.Close()
	}()
	start := time.Now()
	r, rss := e.runRSS(t, pr, "load")
	pr.Close()
	if r.code == 0 {
		t.Fatalf("a gzip bomb loaded: %s", r)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("took %v to refuse", d)
	}
	if rss > 200<<10 {
		t.Errorf("peak RSS %d MB on a gzip bomb; want it bounded (< 200 MB)", rss>>10)
	}
	if e.storeState() != before {
		t.Error("the store's index changed")
	}
}
