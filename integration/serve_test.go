//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// served is a running `builder serve`.
type served struct {
	root string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

func (s *served) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// startServe runs builder serve on e's root and waits until it serves.
func (e *env) startServe(t *testing.T, args ...string) *served {
	t.Helper()
	return e.startServeIn(t, "", args...)
}

// startServeIn is startServe inside the network namespace netns ("": this one).
func (e *env) startServeIn(t *testing.T, netns string, args ...string) *served {
	t.Helper()
	argv := append([]string{s.builder, "--root", e.root, "serve"}, args...)
	if netns != "" {
		// nsenter switches the network namespace only: `ip netns exec`
		// also remounts /sys, and runc then finds no cgroup mount.
		argv = append([]string{"nsenter", "--net=/run/netns/" + netns, "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Dir(e.root))
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sv := &served{root: e.root, cmd: cmd, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			sv.mu.Lock()
			sv.log.WriteString(sc.Text() + "\n")
			sv.mu.Unlock()
			if strings.Contains(sc.Text(), "builder serve: pid") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() { err := cmd.Wait(); pw.Close(); sv.done <- err }()
	t.Cleanup(func() {
		// As a user stops it: SIGTERM, which releases what it holds
		// (build steps' network namespaces among them); SIGKILL after.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-sv.done:
			return
		case <-time.After(10 * time.Second):
		}
		cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-sv.done:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case <-ready:
		return sv
	case err := <-sv.done:
		t.Fatalf("builder serve exited (%v):\n%s", err, sv.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("builder serve did not start:\n%s", sv.output())
	}
	return nil
}

// stop sends SIGTERM and waits for the exit.
func (s *served) stop(t *testing.T, within time.Duration) error {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(within):
		t.Fatalf("builder serve still runs %v after SIGTERM:\n%s", within, s.output())
	}
	return nil
}

func buildctlBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(repoDir(t), "bin", "buildctl")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("stock buildctl: %v (run `make peers`)", err)
	}
	return bin
}

// buildctl runs the stock buildctl.
func buildctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, buildctlBin(t), args...).CombinedOutput()
	return string(out), err
}

func dockerfileBuild(addr, dir string, out ...string) []string {
	args := []string{"--addr", addr, "build", "--progress", "plain", "--frontend", "dockerfile.v0", "--local", "context=" + dir, "--local", "dockerfile=" + dir}
	for _, o := range out {
		args = append(args, "--output", o)
	}
	return args
}

// TestServe: builder serve is a buildkitd for stock buildctl and for
// builder --addr, while builder commands on its root still share it.
func TestServe(t *testing.T) {
	e := newEnv(t)
	sock := filepath.Join(t.TempDir(), "b.sock")
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	tcp := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	sv := e.startServe(t, "--addr", "unix://"+sock, "--addr", tcp, "--allow-unauthenticated-tcp")
	if !strings.Contains(sv.output(), "WARNING: "+tcp+" is served without TLS") {
		t.Errorf("serve --allow-unauthenticated-tcp gave no warning:\n%s", sv.output())
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v, want mode 0600", sock, fi, err)
	}
	hello := helloContext(t)
	for _, addr := range []string{"unix://" + sock, tcp} {
		if out, err := buildctl(t, "--addr", addr, "debug", "workers"); err != nil || !strings.Contains(out, "linux/amd64") {
			t.Fatalf("buildctl debug workers on %s: %v\n%s", addr, err, out)
		}
	}
	// type=image lands in the root's store.
	if out, err := buildctl(t, dockerfileBuild(tcp, hello, "type=image,name=served:1")...); err != nil {
		t.Fatalf("buildctl build: %v\n%s", err, out)
	}
	if got := e.must("run", "--rm", "served:1").stdout; got != "hello docker\n" {
		t.Fatalf("run served:1 printed %q", got)
	}
	// A base image's layers that BuildKit left lazy are fetched and stored too.
	bb := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f /f\n", "f": "from buildctl\n"})
	if out, err := buildctl(t, dockerfileBuild("unix://"+sock, bb, "type=image,name=served-bb:1")...); err != nil {
		t.Fatalf("buildctl build: %v\n%s", err, out)
	}
	if got := e.must("run", "--rm", "served-bb:1", "cat", "/f").stdout; got != "from buildctl\n" {
		t.Fatalf("run served-bb:1 printed %q", got)
	}
	// Results a client takes home reach it.
	dest := t.TempDir()
	tarball := filepath.Join(t.TempDir(), "oci.tar")
	if out, err := buildctl(t, dockerfileBuild(tcp, bb, "type=local,dest="+dest)...); err != nil {
		t.Fatalf("buildctl type=local: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "f")); string(got) != "from buildctl\n" {
		t.Fatalf("type=local wrote %q", got)
	}
	if out, err := buildctl(t, dockerfileBuild(tcp, bb, "type=oci,dest="+tarball)...); err != nil {
		t.Fatalf("buildctl type=oci: %v\n%s", err, out)
	}
	if fi, err := os.Stat(tarball); err != nil || fi.Size() == 0 {
		t.Fatalf("type=oci wrote %v %v", fi, err)
	}
	// builder --addr on another root builds through it, into its own store.
	other := newEnv(t)
	other.must("--addr", tcp, "build", "-t", "via-addr", hello)
	if got := other.must("run", "--rm", "via-addr").stdout; got != "hello docker\n" {
		t.Fatalf("run via-addr printed %q", got)
	}
	// builder on the served root shares the solver.
	e.must("build", "-t", "on-root", hello)
	e.must("image", "inspect", "on-root")

	// A second serve on the root is refused, naming the owner, and
	// listens nowhere.
	sock2 := filepath.Join(t.TempDir(), "c.sock")
	r := e.run("serve", "--addr", "unix://"+sock2)
	if r.code == 0 || !strings.Contains(r.stderr, fmt.Sprintf("builder process %d", sv.cmd.Process.Pid)) {
		t.Fatalf("second serve: %s", r)
	}
	if _, err := os.Stat(sock2); !os.IsNotExist(err) {
		t.Fatalf("the refused serve left %s: %v", sock2, err)
	}

	// SIGTERM lets a running build finish, then stops.
	slow := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 3 && echo done > /d\n"})
	build, blog := startUntil(t, "RUN sleep 3", buildctlBin(t), dockerfileBuild("unix://"+sock, slow, "type=image,name=slow:1")...)
	start := time.Now()
	if err := sv.stop(t, 60*time.Second); err != nil {
		t.Fatalf("serve exit after SIGTERM: %v\n%s", err, sv.output())
	}
	if err := build.Wait(); err != nil {
		t.Fatalf("the running build failed when serve stopped: %v\n%s", err, blog.String())
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("stopping took %v", time.Since(start))
	}
	for _, p := range []string{sock, filepath.Join(e.root, "solver.sock")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after serve stopped: %v", p, err)
		}
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(tcp, "tcp://"), time.Second); err == nil {
		c.Close()
		t.Errorf("%s still answers after serve stopped", tcp)
	}
	if got := e.must("run", "--rm", "slow:1", "cat", "/d").stdout; got != "done\n" {
		t.Fatalf("the build finished during the stop stored %q", got)
	}
}

// TestServeStopTimeout: a build that outlasts --stop-timeout is cancelled
// and serve exits, its root usable at once.
func TestServeStopTimeout(t *testing.T) {
	e := newEnv(t)
	sock := filepath.Join(t.TempDir(), "b.sock")
	sv := e.startServe(t, "--addr", "unix://"+sock, "--stop-timeout", "2s")
	slow := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 120\n"})
	build, blog := startUntil(t, "RUN sleep 120", buildctlBin(t), dockerfileBuild("unix://"+sock, slow, "type=image,name=never:1")...)
	before := e.storeState()
	start := time.Now()
	sv.stop(t, 40*time.Second)
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("serve took %v to stop with --stop-timeout 2s", took)
	}
	if err := build.Wait(); err == nil {
		t.Fatalf("the cancelled build succeeded:\n%s", blog.String())
	}
	if !strings.Contains(sv.output(), "cancelling them") {
		t.Errorf("serve did not say it cancelled the builds:\n%s", sv.output())
	}
	if e.storeState() != before {
		t.Fatal("the cancelled build changed the store")
	}
	e.must("images")
}

// startUntil starts a command and returns once its output (stdout and
// stderr, kept) shows marker: a build that has reached a step.
func startUntil(t *testing.T, marker, name string, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waitFor(t, 60*time.Second, func() bool { return strings.Contains(out.String(), marker) })
	return cmd, out
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer that a command writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeAsBuildkitd: builder serve started the way BuildKit's own
// integration harness starts buildkitd (util/testutil/workers: the OCI
// worker flags, --config, --root, --addr, --debug), through the shim that
// stands in for buildkitd on PATH. Flags it cannot honour are refused by
// name.
func TestServeAsBuildkitd(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	sock := filepath.Join(dir, "bk.sock")
	cfg := filepath.Join(dir, "buildkitd.toml")
	os.WriteFile(cfg, []byte(mirrorConfig(s.registry)), 0o644)
	shim := filepath.Join(repoDir(t), "scripts", "buildkitd-shim")
	args := []string{"--oci-worker=true", "--containerd-worker=false", "--oci-worker-gc=false",
		"--oci-worker-labels=org.mobyproject.buildkit.worker.sandbox=true", "--config=" + cfg,
		"--root", root, "--addr", "unix://" + sock, "--debug"}
	cmd := exec.Command(shim, args...)
	cmd.Env = append(os.Environ(), "BUILDER="+s.builder)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	waitFor(t, 60*time.Second, func() bool { _, err := os.Stat(sock); return err == nil })
	ws, err := buildctl(t, "--addr", "unix://"+sock, "debug", "workers", "-v")
	if err != nil || !strings.Contains(ws, "org.mobyproject.buildkit.worker.sandbox:") || !strings.Contains(ws, "true") {
		t.Fatalf("buildctl debug workers -v: %v\n%s", err, ws)
	}
	bb := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo harness > /f\n"})
	dest := t.TempDir()
	if o, err := buildctl(t, dockerfileBuild("unix://"+sock, bb, "type=local,dest="+dest)...); err != nil {
		t.Fatalf("buildctl build: %v\n%s", err, o)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "f")); string(got) != "harness\n" {
		t.Fatalf("type=local wrote %q", got)
	}
	// As buildkitd, a served root grants only the config's
	// insecure-entitlements (none here): a client asking for the host's
	// network is refused.
	if o, err := buildctl(t, append(dockerfileBuild("unix://"+sock, bb, "type=local,dest="+t.TempDir()), "--allow", "network.host")...); err == nil ||
		!strings.Contains(o, "network.host is not allowed") {
		t.Fatalf("--allow network.host without insecure-entitlements: %v\n%s", err, o)
	}
	// The state is where --root said, not the default root.
	if _, err := os.Stat(filepath.Join(root, "solver.lock")); err != nil {
		t.Fatalf("--root %s: %v", root, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--oci-worker=false"}, "--oci-worker=false is not supported"},
		{[]string{"--containerd-worker=true"}, "--containerd-worker=true is not supported"},
		{[]string{"--oci-worker-snapshotter=stargz"}, "--oci-worker-snapshotter stargz is not supported"},
		{[]string{"--allow-insecure-entitlement=root"}, "--allow-insecure-entitlement root: not an entitlement"},
		{[]string{"--oci-worker-platform=linux/amd64"}, "oci-worker-platform"},
	} {
		c := exec.Command(shim, append(tc.args, "--root", filepath.Join(dir, "other"), "--addr", "unix://"+filepath.Join(dir, "o.sock"))...)
		c.Env = append(os.Environ(), "BUILDER="+s.builder)
		o, err := c.CombinedOutput()
		if err == nil || !strings.Contains(string(o), tc.want) {
			t.Errorf("%v: want an error with %q, got %v:\n%s", tc.args, tc.want, err, o)
		}
		if _, err := os.Stat(filepath.Join(dir, "o.sock")); !os.IsNotExist(err) {
			t.Errorf("%v left a socket", tc.args)
		}
	}
}
