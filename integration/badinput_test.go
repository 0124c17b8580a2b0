//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBadInput: each mistake gets a non-zero exit, one message naming the
// file, line or flag, and leaves the image store exactly as it was.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	good := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x"})
	e.must("build", "-t", "keep", good)
	ctx := func(df string) string { return writeContext(t, map[string]string{"Dockerfile": df}) }

	for _, tc := range []struct {
		name string
		args []string
		want []string // all must appear in stderr
	}{
		{"missing context", []string{"build", "-t", "x", "/nonexistent/ctx"}, []string{`path "/nonexistent/ctx" not found`}},
		{"missing Dockerfile", []string{"build", "-t", "x", t.TempDir()}, []string{"Dockerfile", "not found"}},
		{"missing -f file", []string{"build", "-f", "/nonexistent/Dockerfile.x", good}, []string{"/nonexistent/Dockerfile.x", "not found"}},
		{"syntax error", []string{"build", "-t", "x", ctx("FROM busybox\nRUN echo a \\\n\nCOPY --chown=: \n\"\n")}, []string{"Dockerfile:"}},
		{"unknown instruction", []string{"build", "-t", "x", ctx("FROM busybox\nFROBNICATE now\n")}, []string{"Dockerfile:2", "unknown instruction", "FROBNICATE"}},
		{"invalid tag", []string{"build", "-t", "Bad:Tag:x", good}, []string{"-t", "Bad:Tag:x"}},
		{"base image not found", []string{"build", "-t", "x", ctx("FROM nosuchimage:1\n")}, []string{"nosuchimage:1", "not found"}},
		{"failing RUN", []string{"build", "-t", "x", ctx("FROM busybox\nRUN echo going && exit 3\n")}, []string{"Dockerfile:2", "echo going && exit 3", "exit code: 3"}},
		{"unknown -o type", []string{"build", "-o", "type=bogus,dest=x", good}, []string{"-o", "bogus"}},
		{"-o without dest", []string{"build", "-o", "type=local", good}, []string{"-o", "dest"}},
		{"bad --progress", []string{"build", "--progress", "fancy", good}, []string{"--progress", "fancy"}},
		{"bad --network", []string{"build", "--network", "bridge9", good}, []string{"--network", "bridge9"}},
		{"two contexts", []string{"build", good, good}, []string{"requires exactly 1 argument"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.storeState()
			r := e.run(tc.args...)
			if r.code == 0 {
				t.Fatalf("succeeded:\n%s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r)
				}
			}
			if after := e.storeState(); after != before {
				t.Errorf("the store's index changed")
			}
		})
	}
	if out := e.must("images", "--format", "{{.Repository}}").stdout; out != "keep\n" {
		t.Errorf("after the bad input the store lists %q; want only keep", out)
	}
}

// TestInterruptedBuild: Ctrl-C during a RUN stops the build, lists no half
// image, and a rerun succeeds.
func TestInterruptedBuild(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN touch /started && sleep 60\n"})
	before := e.storeState()
	cmd := e.cmd(t.Context(), "build", "-t", "half", dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the RUN to be running, then interrupt as a terminal would.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), "RUN touch /started") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("interrupted build exited 0:\n%s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("build did not stop within 30s of SIGINT:\n%s", stderr.String())
	}
	if after := e.storeState(); after != before {
		t.Error("the interrupted build changed the store's index")
	}
	if out := e.must("images", "-q").stdout; out != "" {
		t.Errorf("images after the interrupt: %q", out)
	}
	// No runc container of ours is left running.
	dir2 := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN touch /started\n"})
	e.must("build", "-t", "whole", dir2)
}

// TestConcurrentBuilds: two builds started at the same moment on one root
// both succeed, and `images` answers while a build runs.
func TestConcurrentBuilds(t *testing.T) {
	e := newEnv(t)
	a := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 3 && echo a > /a\n"})
	b := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 3 && echo b > /b\n"})
	type res struct {
		r   result
		tag string
	}
	ch := make(chan res, 2)
	for tag, dir := range map[string]string{"a": a, "b": b} {
		go func() { ch <- res{e.run("build", "-t", tag, dir), tag} }()
	}
	// While both run, listing the store answers at once.
	time.Sleep(1500 * time.Millisecond)
	start := time.Now()
	e.must("images")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("images took %v during a build", d)
	}
	for i := 0; i < 2; i++ {
		x := <-ch
		if x.r.code != 0 {
			t.Errorf("build %s: %s", x.tag, x.r)
		}
	}
	out := e.must("images", "--format", "{{.Repository}}").stdout
	if !strings.Contains(out, "a\n") || !strings.Contains(out, "b\n") {
		t.Errorf("images after both builds: %q", out)
	}
	// The state root is private.
	fi, err := os.Stat(e.root)
	if err != nil || fi.Mode().Perm() != 0700 {
		t.Errorf("state root mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	if _, err := os.Stat(filepath.Join(e.root, "solver.sock")); !os.IsNotExist(err) {
		t.Errorf("solver socket left behind after both builds exited: %v", err)
	}
}

// TestKilledBuilder: a builder killed with SIGKILL mid-RUN leaves its RUN
// container running (runc's children outlive it) and mounts under the root;
// the next builder to own the root sweeps both, and builds work.
func TestKilledBuilder(t *testing.T) {
	e := newEnv(t)
	// A number of this run's own, so no stray process can stand in for it.
	marker := fmt.Sprintf("sleep %d", 100000+time.Now().UnixNano()%800000)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN " + marker + "\n"})
	cmd := e.cmd(t.Context(), "build", dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !processRunning(marker) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !processRunning(marker) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the RUN never started:\n%s", stderr.String())
	}
	cmd.Process.Kill()
	cmd.Wait()

	e.must("build", "-t", "after", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"}))
	if processRunning(marker) {
		t.Error("the killed build's RUN process is still running after the next build")
	}
	if m := mountsUnder(t, e.root); len(m) != 0 {
		t.Errorf("mounts left under the root: %v", m)
	}
}

func processRunning(cmdline string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		dt, err := os.ReadFile(p)
		if err == nil && strings.ReplaceAll(strings.TrimRight(string(dt), "\x00"), "\x00", " ") == cmdline {
			return true
		}
	}
	return false
}

func mountsUnder(t *testing.T, root string) []string {
	var out []string
	for _, m := range mountPoints(t) {
		if strings.HasPrefix(m, root+"/") {
			out = append(out, m)
		}
	}
	return out
}
