//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDockerfileNotRegular: -f of a device, a FIFO or a directory is one
// error naming it, at once (a device was read until the machine ran out of
// memory, a FIFO blocked past every signal); a Dockerfile larger than
// BuildKit's frontend reads is refused by its size.
func TestDockerfileNotRegular(t *testing.T) {
	e := newEnv(t)
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "Dockerfile.big")
	if err := os.WriteFile(big, append([]byte("FROM scratch\n#"), bytes.Repeat([]byte("x"), 17<<20)...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ f, want string }{
		{"/dev/zero", "Dockerfile /dev/zero is not a regular file (a character device)"},
		{fifo, "Dockerfile " + fifo + " is not a regular file (a FIFO)"},
		{ctxDir, "Dockerfile " + ctxDir + " is not a regular file (a directory)"},
		{big, "larger than 16 MiB"},
	} {
		start := time.Now()
		r := e.run("build", "-q", "-f", tc.f, ctxDir)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("build -f %s: want one error with %q: %s", tc.f, tc.want, r)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("build -f %s took %v", tc.f, d)
		}
	}
}

// TestDockerfileStdinInterrupted: a build reading its Dockerfile from a
// stdin that never ends leaves at the first SIGINT or SIGTERM.
func TestDockerfileStdinInterrupted(t *testing.T) {
	e := newEnv(t)
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, args := range [][]string{{"build", "-f", "-", ctxDir}, {"build", "-"}} {
			cmd := e.cmd(context.Background(), args...)
			w, err := func() (*os.File, error) {
				r, w, err := os.Pipe()
				if err != nil {
					return nil, err
				}
				cmd.Stdin = r
				return w, nil
			}()
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("FROM scratch\n")) // and never closed
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("%v with %v: exit 0", args, sig)
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Errorf("%v: still reading stdin 10 s after %v\n%s", args, sig, stderr.String())
			}
			w.Close()
		}
	}
}

// TestLoadInterrupted: Ctrl-C during a load (here, of an archive coming
// through a pipe that stalls half-way) ends it at once, blames no archive,
// and leaves the store as it was.
func TestLoadInterrupted(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "busybox")
	archive := filepath.Join(t.TempDir(), "bb.tar")
	e.must("save", "-o", archive, "busybox")
	dt, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	other := newEnv(t)
	before := other.storeState()
	cmd := other.cmd(context.Background(), "load")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = r
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Write(dt[:len(dt)/2])
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("an interrupted load exited 0")
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("load still running 10 s after SIGINT:\n%s", stderr.String())
	}
	w.Close()
	if strings.Contains(stderr.String(), "not a valid image archive") || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
		t.Errorf("the interrupted load blamed the archive, or said more than one line:\n%s", stderr.String())
	}
	if after := other.storeState(); after != before {
		t.Errorf("the interrupted load changed the store")
	}
}
