//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// strayMounts lists mounts builder may have left where no later builder
// looks: BuildKit's and containerd's temporary mounts in the system's
// temporary directory, and builder's own views.
func strayMounts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range mountPoints(t) {
		// Another test suite's roots (a second `go test` on the machine)
		// are not ours to judge.
		if strings.HasPrefix(m, "/tmp/builder-it-") && !strings.HasPrefix(m, s.dir+"/") {
			continue
		}
		for _, p := range []string{"/tmp/buildkit-mount", "/tmp/containerd-mount", "/tmp/builder-"} {
			if strings.HasPrefix(m, p) {
				out = append(out, m)
			}
		}
	}
	return out
}

// scratchMounts lists mounts under the root's scratch directories.
func scratchMounts(t *testing.T, e *env) []string {
	var out []string
	for _, m := range mountsUnder(t, e.root) {
		if strings.HasPrefix(m, filepath.Join(e.root, "tmp")+"/") {
			out = append(out, m)
		}
	}
	return out
}

// TestNothingLeftBehind: a build killed during RUN and during export, a
// commit killed mid-way, and an export into a closed pipe leave no mount
// outside the root, and the next command cleans what they left under it
// (issue 8, case 7).
func TestNothingLeftBehind(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	e.must("run", "--name", "big", "busybox", "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null")
	before := len(strayMounts(t))

	// kill -9 of a build while its RUN holds mounts.
	marker := fmt.Sprintf("sleep %d", 100000+time.Now().UnixNano()%800000)
	cmd := e.cmd(t.Context(), "build", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN " + marker + "\n"}))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); !processRunning(marker) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()

	// kill -9 of commit of a large layer, part way through.
	for _, delay := range []time.Duration{150 * time.Millisecond, 400 * time.Millisecond} {
		cmd = e.cmd(t.Context(), "commit", "big", "bigimg")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
	}

	// export into a pipe closed after 100 bytes.
	sh := exec.Command("sh", "-c", fmt.Sprintf("%q --root %q export big | head -c 100 >/dev/null", s.builder, e.root))
	if out, err := sh.CombinedOutput(); err != nil {
		t.Logf("export | head: %v %s", err, out)
	}
	if got := strayMounts(t); len(got) > before {
		t.Errorf("mounts outside the root after kills and a broken pipe: %v", got)
	}
	// The next command sweeps what the killed ones left under the root.
	e.must("images")
	if m := scratchMounts(t, e); len(m) != 0 {
		t.Errorf("scratch mounts left after the next command: %v", m)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.root, "tmp")); len(ents) != 0 {
		t.Errorf("scratch directories left after the next command: %d", len(ents))
	}
	// And the killed commands run again.
	e.must("commit", "big", "bigimg")
	e.must("build", "-q", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"}))
	if processRunning(marker) {
		t.Error("the killed build's RUN is still running after the next build")
	}
}

// TestBuildsBesideContainers: builds in a loop on one root beside run --rm
// and exec in a loop, with a detached container running all the while:
// no run fails, and the detached container's rootfs stays mounted and
// whole (issue 8, case 6: a build's start-up sweep unmounted containers).
func TestBuildsBesideContainers(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	e.must("run", "-d", "--name", "keep", "busybox", "sh", "-c", "echo kept > /kept; sleep 600")
	defer e.run("rm", "-f", "keep")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var runs, execs int
	var failures []string
	loop := func(args []string, n *int) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			cmd := e.cmd(ctx, args...)
			out, err := cmd.CombinedOutput()
			mu.Lock()
			*n++
			if err != nil && ctx.Err() == nil {
				failures = append(failures, fmt.Sprintf("%v: %v: %s", args, err, out))
			}
			mu.Unlock()
		}
	}
	wg.Add(2)
	go loop([]string{"run", "--rm", "busybox", "true"}, &runs)
	go loop([]string{"exec", "keep", "cat", "/kept"}, &execs)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo built > /b\n"})
	for i := 0; i < 6; i++ {
		if r := e.run("build", "--no-cache", "-q", dir); r.code != 0 {
			t.Errorf("build %d: %s", i, r)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("6 builds beside %d run --rm and %d exec", runs, execs)
	for _, f := range failures {
		t.Errorf("failed beside the builds: %s", f)
	}
	if runs == 0 || execs == 0 {
		t.Errorf("the loops ran %d runs and %d execs", runs, execs)
	}
	if r := e.run("exec", "keep", "cat", "/kept"); r.code != 0 || r.stdout != "kept\n" {
		t.Errorf("the detached container after the builds: %s", r)
	}
	id := strings.TrimSpace(e.must("ps", "-q", "--no-trunc", "--filter", "name=keep").stdout)
	rootfs := filepath.Join(e.root, "containers", id, "rootfs")
	mounted := false
	for _, m := range mountsUnder(t, e.root) {
		mounted = mounted || m == rootfs
	}
	if !mounted {
		t.Errorf("the detached container's rootfs %s was unmounted by a build", rootfs)
	}
}

// TestTempMountsUnderRoot: every temporary mount a build makes (BuildKit's
// buildkit-mount*, containerd's containerd-mount* while a layer is diffed
// for export) lies under the root's scratch directory, where the next
// process sweeps what a killed one left; none under /tmp.
func TestTempMountsUnderRoot(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN dd if=/dev/urandom of=/big bs=1M count=16 2>/dev/null\nRUN echo more > /more\n"})
	done := make(chan result)
	go func() { done <- e.run("build", "-q", "--no-cache", "-t", "mounts", dir) }()
	seen := map[string]bool{}
	for running := true; running; {
		select {
		case r := <-done:
			if r.code != 0 {
				t.Fatalf("build: %s", r)
			}
			running = false
		case <-time.After(5 * time.Millisecond):
		}
		for _, m := range mountPoints(t) {
			if strings.Contains(m, "containerd-mount") || strings.Contains(m, "buildkit-mount") {
				seen[m] = true
			}
		}
	}
	under := 0
	for m := range seen {
		if strings.HasPrefix(m, e.root+"/") {
			under++
		} else {
			t.Errorf("a temporary mount outside the root: %s", m)
		}
	}
	t.Logf("%d temporary mounts seen, %d under the root", len(seen), under)
}

// mountPoints lists every mount point of this mount namespace.
func mountPoints(t *testing.T) []string {
	dt, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(dt), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out
}
