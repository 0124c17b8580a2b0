//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// suite holds what every test shares: the binaries under test and the
// registry serving base images. It is built once, in TestMain.
type suite struct {
	dir      string // scratch space for the whole run
	builder  string // the builder binary
	runc     string
	registry string // host:port of the registry, docker.io's mirror
}

var s suite

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	if os.Geteuid() != 0 {
		return 0, fmt.Errorf("the integration tests run builds with runc and need root")
	}
	dir, err := os.MkdirTemp("", "builder-it-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	// The accounts the rootless tests create run the binaries in bin.
	if err := os.Chmod(dir, 0711); err != nil {
		return 0, err
	}
	s.dir = dir
	_, here, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(here))
	bin := filepath.Join(dir, "bin")
	s.builder = filepath.Join(bin, "builder")
	if out, err := exec.Command("go", "build", "-o", s.builder, filepath.Join(repo, "cmd", "builder")).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build: %v\n%s", err, out)
	}
	// The pinned runc that `make runc` builds; builder finds it beside itself.
	s.runc = os.Getenv("BUILDER_RUNC")
	if s.runc == "" {
		s.runc = filepath.Join(repo, "bin", "runc")
	}
	if _, err := os.Stat(s.runc); err != nil {
		return 0, fmt.Errorf("runc: %v (run `make runc` first, or set BUILDER_RUNC)", err)
	}
	if err := copyFile(s.runc, filepath.Join(bin, "runc")); err != nil {
		return 0, err
	}
	// The pinned CNI plugins `make cni` builds, for run's bridge network;
	// builder finds them beside itself too.
	cni := filepath.Join(repo, "bin", "cni")
	if _, err := os.Stat(filepath.Join(cni, "bridge")); err != nil {
		return 0, fmt.Errorf("CNI plugins: %v (run `make cni` first)", err)
	}
	if err := os.Symlink(cni, filepath.Join(bin, "cni")); err != nil {
		return 0, err
	}
	stop, addr, err := startRegistry(filepath.Join(dir, "registry"), "")
	if err != nil {
		return 0, err
	}
	defer stop()
	s.registry = addr
	if err := pushBusybox(filepath.Join(dir, "busybox")); err != nil {
		return 0, fmt.Errorf("busybox base image: %w", err)
	}
	return m.Run(), nil
}

func copyFile(src, dst string) error {
	dt, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, dt, 0755)
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRegistry runs Debian's docker-registry with a config of its own;
// extra is YAML added under the config's top level (auth, http.tls).
func startRegistry(dir, extra string) (stop func(), addr string, err error) {
	return startRegistryOn(dir, "127.0.0.1", extra)
}

// startRegistryOn is startRegistry listening on host (an address of this
// machine's, such as a test bridge's).
func startRegistryOn(dir, host, extra string) (stop func(), addr string, err error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr = net.JoinHostPort(host, strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0755); err != nil {
		return nil, "", err
	}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", dir, addr)
	cfg += strings.ReplaceAll(extra, "ADDR", addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0644); err != nil {
		return nil, "", err
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, "", fmt.Errorf("docker-registry not installed (apt-get install docker-registry): %w", err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() }
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return stop, addr, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return nil, "", fmt.Errorf("registry did not start on %s", addr)
}

// busyboxNames are the names the conformance corpus and the tests use for
// the one static busybox image.
var busyboxNames = []string{"library/busybox:latest", "library/busybox:musl", "library/busybox:1.31",
	"library/alpine:latest", "library/alpine:3.8", "library/alpine:3.11"}

// pushBusybox makes a base image from Debian's static busybox, laid out as
// the official image is, and pushes it under busyboxNames with skopeo; and,
// with Debian's arm64 busybox beside it (scripts/emulation.sh), a
// two-platform one as multiBusybox.
func pushBusybox(dir string) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox not installed (apt-get install busybox-static): %w", err)
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return err
	}
	applets := strings.Fields(string(out))
	if err := busyboxRootfs(filepath.Join(dir, "rootfs"), bb, applets); err != nil {
		return err
	}
	df := "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD [\"sh\"]\n"
	if err := buildBase(dir, df, busyboxNames); err != nil {
		return err
	}
	if _, err := os.Stat(arm64Busybox); err != nil {
		return nil // the multi-platform tests say what is missing
	}
	multi := filepath.Join(dir, "multi")
	for arch, bin := range map[string]string{"amd64": bb, "arm64": arm64Busybox} {
		if err := busyboxRootfs(filepath.Join(multi, "rootfs-"+arch), bin, applets); err != nil {
			return err
		}
	}
	// A COPY-only build for two platforms: no emulator needed.
	df = "FROM scratch\nARG TARGETARCH\nCOPY rootfs-$TARGETARCH/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD [\"sh\"]\n"
	return buildBase(multi, df, []string{multiBusybox}, "--platform", "linux/amd64,linux/arm64")
}

// arm64Busybox is Debian's static busybox for arm64, which
// scripts/emulation.sh fetches; multiBusybox the name of the two-platform
// base made with it.
const (
	arm64Busybox = "/var/cache/builder-test/busybox.arm64"
	multiBusybox = "library/busybox-multi:latest"
)

// busyboxRootfs lays out a busybox root filesystem at rootfs.
func busyboxRootfs(rootfs, bb string, applets []string) error {
	for _, d := range []string{"bin", "etc", "root", "home", "var", "usr/bin", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(rootfs, "tmp"), 01777)
	os.Chmod(filepath.Join(rootfs, "root"), 0700)
	if err := copyFile(bb, filepath.Join(rootfs, "bin", "busybox")); err != nil {
		return err
	}
	os.Chmod(filepath.Join(rootfs, "bin", "busybox"), 0755)
	for _, applet := range applets {
		if applet != "busybox" {
			os.Symlink("busybox", filepath.Join(rootfs, "bin", applet))
		}
	}
	os.Symlink("/bin/env", filepath.Join(rootfs, "usr", "bin", "env"))
	// The official busybox image's users and groups, which the suite and
	// scripts/buildkit-suite.sh both give their busybox bases.
	for _, f := range []string{"passwd", "group"} {
		dt, err := os.ReadFile(filepath.Join("..", "testdata", "busybox", "etc", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(rootfs, "etc", f), dt, 0644); err != nil {
			return err
		}
	}
	return nil
}

// buildBase builds dir's Dockerfile df to an OCI archive with builder and
// pushes it with skopeo under each name.
func buildBase(dir, df string, names []string, args ...string) error {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0644); err != nil {
		return err
	}
	archive := filepath.Join(dir, "image.tar")
	cmd := exec.Command(s.builder, append(append([]string{"--root", filepath.Join(dir, "root"), "build", "--progress", "quiet",
		"-o", "type=oci,dest=" + archive}, args...), dir)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("builder build: %v\n%s", err, out)
	}
	for _, n := range names {
		cmd := exec.Command("skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false", "oci-archive:"+archive, "docker://"+s.registry+"/"+n)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("skopeo copy to %s: %v\n%s", n, err, out)
		}
	}
	return nil
}

// mirrorConfig is builder's config making reg, over plain HTTP,
// docker.io's mirror: the suite's bases come from there.
func mirrorConfig(reg string) string {
	return fmt.Sprintf("[registry.\"docker.io\"]\n  mirrors = [%q]\n[registry.%q]\n  http = true\n", reg, reg)
}

// env is one user's builder: a state root of its own whose config makes the
// suite's registry docker.io's mirror.
type env struct {
	t    *testing.T
	root string
	// as, when set, is the unprivileged account the commands run as, with
	// its default root (no --root); pathEnv replaces its PATH.
	as      *account
	pathEnv string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(root, 0700); err != nil {
		t.Fatal(err)
	}
	cfg := mirrorConfig(s.registry)
	if err := os.WriteFile(filepath.Join(root, "config.toml"), []byte(cfg), 0644); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, root: root}
}

// result is one finished builder command.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("builder %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

func (e *env) cmd(ctx context.Context, args ...string) *exec.Cmd {
	if e.as != nil {
		cmd := e.as.login(exec.CommandContext(ctx, s.builder, args...))
		if e.pathEnv != "" {
			cmd.Env = append(cmd.Env, "PATH="+e.pathEnv)
		}
		return cmd
	}
	cmd := exec.CommandContext(ctx, s.builder, append([]string{"--root", e.root}, args...)...)
	cmd.Env = append(os.Environ(), "BUILDKIT_PROGRESS=plain", "HOME="+filepath.Dir(e.root))
	return cmd
}

// run runs builder with args and returns what it did, whatever the exit.
func (e *env) run(args ...string) result {
	return e.runIn(nil, args...)
}

func (e *env) runIn(stdin []byte, args ...string) result {
	e.t.Helper()
	return e.runWith("", stdin, args...)
}

// runInDir runs builder with dir as its working directory, so that
// arguments are relative to it.
func (e *env) runInDir(dir string, args ...string) result {
	e.t.Helper()
	return e.runWith(dir, nil, args...)
}

func (e *env) runWith(dir string, stdin []byte, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := e.cmd(ctx, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("builder %v: %v", args, err)
	}
	return r
}

// must runs builder and fails the test unless it exits 0.
func (e *env) must(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("%s", r)
	}
	return r
}

// mustIn is must with stdin.
func (e *env) mustIn(stdin []byte, args ...string) result {
	e.t.Helper()
	r := e.runIn(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("%s", r)
	}
	return r
}

// storeState is a digest of the image store's index, to check that a
// failed command left the store as it was.
func (e *env) storeState() string {
	e.t.Helper()
	dt, err := os.ReadFile(filepath.Join(e.root, "images", "index.json"))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(dt)
	return hex.EncodeToString(sum[:])
}

// writeContext makes a build context from name → content ("Dockerfile"
// among them).
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// once runs expensive shared fixtures (the Debian base) at most once.
type once struct {
	sync.Once
	err error
}

// runRSS runs builder with stdin and returns its peak RSS in KiB, measured
// by GNU time: a child forked straight from the (large) test process would
// count pages it shared with it before exec.
func (e *env) runRSS(t *testing.T, stdin io.Reader, args ...string) (result, int) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rss")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", out, s.builder, "--root", e.root}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Dir(e.root))
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("/usr/bin/time (apt-get install time): %v", err)
	}
	dt, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(dt)), "\n")
	kb, err := strconv.Atoi(lines[len(lines)-1])
	if err != nil {
		t.Fatalf("peak RSS %q: %v", dt, err)
	}
	return r, kb
}
