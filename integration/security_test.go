//go:build integration

package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCVE_2024_21626_WorkdirProcSelfFd: runc's leaked-fd breakout.
// WORKDIR /proc/self/fd/N in a build, and run -w /proc/self/fd/N, must
// fail or stay inside the container (runc refuses a cwd outside the
// container's root).
func TestCVE_2024_21626_WorkdirProcSelfFd(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	for _, n := range []int{3, 5, 7, 8} {
		df := fmt.Sprintf("FROM busybox\nWORKDIR /proc/self/fd/%d\nRUN ls -a ../../../../../ > /listing && cat /proc/self/mountinfo | head -1 > /mi\n", n)
		tag := fmt.Sprintf("cve21626-%d", n)
		if r := e.run("build", "-q", "-t", tag, writeContext(t, map[string]string{"Dockerfile": df})); r.code == 0 {
			// It built: then what it listed must be the container's own root.
			out := e.must("run", "--rm", "-w", "/", tag, "cat", "/listing").stdout
			if strings.Contains(out, "builder-it-") || strings.Contains(out, "lost+found") && !strings.Contains(out, "bin") {
				t.Errorf("WORKDIR /proc/self/fd/%d reached the host:\n%s", n, out)
			}
		}
		r := e.run("run", "--rm", "-w", fmt.Sprintf("/proc/self/fd/%d", n), "busybox", "sh", "-c", "ls -a ../../../../../")
		if r.code == 0 && (strings.Contains(r.stdout, "builder-it-") || !strings.Contains(r.stdout, "bin")) {
			t.Errorf("run -w /proc/self/fd/%d reached the host:\n%s", n, r)
		}
	}
}

// TestCVE_2025_31133_DevNullSymlink: runc's masked-path and console
// races (CVE-2025-31133, CVE-2025-52565) and CVE-2026-41579: an image
// whose /dev/null, /dev/console or /dev is a symlink to a host path must
// not let runc touch that host path, in run or in a build's RUN.
func TestCVE_2025_31133_DevNullSymlink(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	host, state := canaryDir(t, "cve-2025-31133")
	before := state()
	e.must("run", "--name", "base", "busybox", "true")
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	e.must("export", "-o", rootfs, "base")
	base := readTar(t, rootfs)
	for _, c := range []struct{ name, link, target string }{
		{"null", "dev/null", filepath.Join(host, "file")},
		{"console", "dev/console", filepath.Join(host, "file")},
		{"dev", "dev", host},
	} {
		var es []entry
		for _, en := range base.entries() {
			n := strings.TrimPrefix(en.name, "./")
			if n == c.link || strings.HasPrefix(n, c.link+"/") {
				continue
			}
			es = append(es, en)
		}
		hostile := filepath.Join(t.TempDir(), c.name+".tar")
		os.WriteFile(hostile, writeTar(append(es, entry{name: c.link, typ: '2', link: c.target})), 0644)
		img := "hostile-" + c.name
		e.must("import", "-c", `CMD ["/bin/true"]`, hostile, img)
		e.run("run", "--rm", img)
		if r := e.run("run", "--rm", img, "sh", "-c", "echo x > /dev/null; echo x > /dev/console; cat /bin/true >/dev/null && echo ran"); r.code == 0 && !strings.Contains(r.stdout, "ran") {
			t.Errorf("the hostile image's shell did not run, so this case shows nothing: %s", r)
		}
		e.run("build", "-q", writeContext(t, map[string]string{"Dockerfile": "FROM " + img + "\nRUN echo x > /dev/null\n"}))
		if state() != before {
			t.Errorf("an image whose %s is a symlink to a host path changed that host path", c.link)
		}
	}
}

// TestCVE_2019_5736_ProcSelfExe: a container that writes to
// /proc/self/exe, runs an entrypoint #!/proc/self/exe, and tries runc's
// /proc/PID/exe during exec leaves the runc and builder binaries as they
// were.
func TestCVE_2019_5736_ProcSelfExe(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "-q", "busybox")
	sum := func(p string) string {
		dt, _ := os.ReadFile(p)
		return fmt.Sprintf("%x", sha256.Sum256(dt))
	}
	runcBefore, builderBefore := sum(s.runc), sum(s.builder)
	df := "FROM busybox\nRUN printf '#!/proc/self/exe\\n' > /evil && chmod +x /evil\nRUN for p in /proc/[0-9]*/exe; do echo pwned > $p 2>/dev/null; done; echo pwned > /proc/self/exe 2>/dev/null; true\n"
	e.run("build", "-q", "-t", "evil", writeContext(t, map[string]string{"Dockerfile": df}))
	e.run("run", "--rm", "--entrypoint", "/evil", "evil")
	e.must("run", "-d", "--name", "loop", "busybox", "sh", "-c", "while true; do for p in /proc/[0-9]*/exe; do echo pwned > $p 2>/dev/null; done; done")
	for i := 0; i < 5; i++ {
		e.run("exec", "loop", "true")
	}
	e.run("rm", "-f", "loop")
	if sum(s.runc) != runcBefore {
		t.Error("runc's binary changed")
	}
	if sum(s.builder) != builderBefore {
		t.Error("builder's binary changed")
	}
}

// TestCVE_2024_1753_BindMountHostRoot: buildah's bind-mount breakout: a
// bind mount of a stage's symlink to / must not reach the host's /.
func TestCVE_2024_1753_BindMountHostRoot(t *testing.T) {
	e := newEnv(t)
	marker := fmt.Sprintf("BIND_BREAKOUT_%d", time.Now().UnixNano())
	df := "FROM busybox AS base\nRUN ln -s / /rootdir\nFROM busybox\n" +
		"RUN --mount=type=bind,from=base,source=/rootdir,destination=/exploit,rw touch /exploit/" + marker + "\n" +
		"RUN --mount=type=bind,source=/,target=/host,rw touch /host/" + marker + "-ctx\n"
	// BuildKit resolves the source inside the stage's own root and keeps
	// an rw bind's writes to the step: the build succeeds, harmlessly.
	e.must("build", "-q", writeContext(t, map[string]string{"Dockerfile": df}))
	for _, p := range []string{"/" + marker, "/" + marker + "-ctx"} {
		if _, err := os.Stat(p); err == nil {
			os.Remove(p)
			t.Errorf("a build's bind mount wrote %s on the host", p)
		}
	}
}

// TestCVE_2024_9675_CacheMountID: buildah's cache-mount traversal: a
// cache id or source of ../../.. must stay in the build cache.
func TestCVE_2024_9675_CacheMountID(t *testing.T) {
	e := newEnv(t)
	host, state := canaryDir(t, "cve-2024-9675")
	before := state()
	rel := strings.Repeat("../", 12) + strings.TrimPrefix(host, "/")
	// A cache id is a key, not a path: the build runs, inside the cache.
	e.must("build", "-q", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\n" +
		"RUN --mount=type=cache,id=" + rel + ",target=/c touch /c/escaped\n"}))
	// A source is resolved inside the cache, where that path does not
	// exist: refused, naming it as a path within the cache.
	r := e.run("build", "-q", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\n" +
		"RUN --mount=type=cache,id=x,source=" + rel + ",target=/c touch /c/escaped2\n"}))
	if r.code == 0 {
		t.Errorf("a cache mount source of %s was found: %s", rel, r)
	}
	if state() != before {
		t.Errorf("a cache mount id or source of %s wrote to the host", rel)
	}
}

// TestCVE_2024_23652_MountStubCleanup: BuildKit's stub cleaner: a RUN that
// swaps a mount target's parent for a symlink to a host directory must not
// make the cleanup remove anything there.
func TestCVE_2024_23652_MountStubCleanup(t *testing.T) {
	e := newEnv(t)
	host, state := canaryDir(t, "cve-2024-23652")
	before := state()
	df := "FROM busybox\nRUN --mount=type=tmpfs,target=/a/b mv /a /a.old && ln -s " + host + " /a && echo swapped > /swapped\nRUN cat /swapped\n"
	e.must("build", "-q", writeContext(t, map[string]string{"Dockerfile": df}))
	if state() != before {
		t.Errorf("the mount-stub cleanup after a RUN changed the host directory %s", host)
	}
}

// TestSecretsNowhere: a registry password given to login and a build
// --secret appear nowhere under the root, not in history or inspect, not
// in --debug output, and in no process's arguments.
func TestSecretsNowhere(t *testing.T) {
	addr, cert := startAuthRegistry(t, "alice", "pw-7c1f9e2a")
	e := newEnv(t)
	cfg := fmt.Sprintf("[registry.\"docker.io\"]\n  mirrors = [%q]\n[registry.%q]\n  http = false\n  ca = [%q]\n", s.registry, addr, cert)
	os.WriteFile(filepath.Join(e.root, "config.toml"), []byte(cfg), 0644)
	secretValue := "sv-5d0b3a71"
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte(secretValue), 0600)
	var debug bytes.Buffer
	r := e.runIn([]byte("pw-7c1f9e2a\n"), "--debug", "login", "-u", "alice", "--password-stdin", addr)
	if r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	debug.WriteString(r.stdout + r.stderr)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token | wc -c > /len && sleep 2\n"})
	ref := addr + "/team/secret:1"
	cmd := e.cmd(t.Context(), "--debug", "build", "--secret", "id=token,src="+secret, "-t", ref, dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Every process's arguments, while the build runs.
	var inArgs []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			if dt, err := os.ReadFile(p); err == nil && (bytes.Contains(dt, []byte(secretValue)) || bytes.Contains(dt, []byte("pw-7c1f9e2a"))) {
				inArgs = append(inArgs, p)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	debug.Write(out.Bytes())
	r = e.must("--debug", "push", ref)
	debug.WriteString(r.stdout + r.stderr)
	if len(inArgs) > 0 {
		t.Errorf("a secret was in the arguments of %v", inArgs)
	}
	views := e.must("history", "--no-trunc", ref).stdout + e.must("inspect", ref).stdout
	auth := base64.StdEncoding.EncodeToString([]byte("alice:pw-7c1f9e2a"))
	for _, s := range []string{secretValue, "pw-7c1f9e2a", auth} {
		if strings.Contains(views, s) {
			t.Errorf("history or inspect shows %q", s)
		}
		if strings.Contains(debug.String(), s) {
			t.Errorf("--debug output shows %q", s)
		}
		filepath.WalkDir(e.root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if dt, err := os.ReadFile(p); err == nil && bytes.Contains(dt, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
			return nil
		})
	}
}
