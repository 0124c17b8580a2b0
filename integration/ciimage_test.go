//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// dockerEngine skips, visibly, where no Docker Engine answers.
func dockerEngine(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("SKIP: no Docker Engine (docker info: %s)", strings.TrimSpace(tail(out)))
	}
}

// privileged is how a job container gets what builder needs to run
// containers itself: --privileged, as CI systems run kaniko-style and
// docker-in-docker jobs. Some engines (this project's test VMs) hold back
// capabilities --privileged would grant and refuse it outright; there the
// job gets every capability the engine grants, unconfined seccomp,
// AppArmor and system paths, and the host's cgroups, which is what
// --privileged gives builder.
func privileged(t *testing.T, image string) []string {
	t.Helper()
	if err := exec.Command("docker", "run", "--rm", "--privileged", image, "--version").Run(); err == nil {
		return []string{"--privileged"}
	}
	t.Logf("NOTE: this Docker Engine refuses --privileged; the job containers get the capabilities it grants instead")
	args := []string{"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"--security-opt", "systempaths=unconfined", "-v", "/sys/fs/cgroup:/sys/fs/cgroup"}
	caps := []string{"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO", "SYS_TIME", "MAC_ADMIN",
		"MAC_OVERRIDE", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_CONTROL", "AUDIT_READ", "SYS_BOOT", "SYS_NICE",
		"SYS_TTY_CONFIG", "LEASE", "SYS_PACCT", "IPC_LOCK", "IPC_OWNER", "LINUX_IMMUTABLE", "NET_BROADCAST", "DAC_READ_SEARCH",
		"SYS_RESOURCE", "BPF", "PERFMON", "CHECKPOINT_RESTORE"}
	granted := make([]bool, len(caps))
	var wg sync.WaitGroup
	for i, c := range caps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			granted[i] = exec.Command("docker", "run", "--rm", "--cap-add", c, image, "--version").Run() == nil
		}()
	}
	wg.Wait()
	for i, c := range caps {
		if granted[i] {
			args = append(args, "--cap-add", c)
		}
	}
	return args
}

// jobImage makes builder's own image (scripts/image.sh, as `make image`
// runs it) and loads it into docker, for this test only.
func jobImage(t *testing.T) string {
	t.Helper()
	image := "builder-ci-test:" + strings.ToLower(filepath.Base(t.TempDir()))
	archive := filepath.Join(t.TempDir(), "image.tar")
	cmd := exec.Command(filepath.Join(repoDir(t), "scripts", "image.sh"), s.builder, s.runc, image, archive)
	cmd.Env = append(os.Environ(), "BUILDER_ROOT="+filepath.Join(t.TempDir(), "root"), "BUILDKIT_PROGRESS=quiet")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, out)
	}
	if out, err := exec.Command("docker", "load", "-i", archive).CombinedOutput(); err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	return image
}

// jobConfig is a directory for a job container's /etc/builder: the
// suite's registry as docker.io's mirror, readable by any account.
func jobConfig(t *testing.T) string {
	t.Helper()
	cfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg, "config.toml"), []byte(mirrorConfig(s.registry)), 0644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(cfg, 0755)
	return cfg
}

// TestCIJobImage: builder's own image, loaded into docker, builds and
// pushes a context mounted into a job container, exporting its cache to
// the registry; a second job, in a new container with an empty state
// root, is fully cached from it.
func TestCIJobImage(t *testing.T) {
	dockerEngine(t)
	image := jobImage(t)
	ctx := ciContext(t)
	cfg := jobConfig(t)
	ref := s.registry + "/ci/app:1"
	cache := s.registry + "/ci/app:buildcache"
	priv := privileged(t, image)
	job := func(args ...string) string {
		t.Helper()
		run := append([]string{"run", "--rm", "--network", "host", "-v", ctx + ":/src:ro", "-v", cfg + ":/etc/builder:ro"}, priv...)
		run = append(append(append(run, image, "build", "--progress", "rawjson", "-t", ref, "--push"), args...), "/src")
		out, err := exec.Command("docker", run...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(run, " "), err, tail(out))
		}
		return string(out)
	}
	job("--cache-to", "type=registry,ref="+cache+",mode=max")
	if err := exec.Command("skopeo", "inspect", "--tls-verify=false", "docker://"+ref).Run(); err != nil {
		t.Fatalf("the first job pushed nothing: %v", err)
	}
	for name, cached := range steps(t, job("--cache-from", "type=registry,ref="+cache)) {
		if !cached {
			t.Errorf("second job ran %q again; want it from the registry cache", name)
		}
	}
	validateRemote(t, "pushed from the job image", ref)
}

// TestCIJobImageRootless: the job image run as its unprivileged account
// without --privileged, with rootless BuildKit's documented options only
// (seccomp and AppArmor unconfined), builds the hello and python examples
// (a RUN of apt-get, under docker's masked /proc) and pushes them; docker
// pulls and runs what it pushed. Without the options, the one error names
// them.
func TestCIJobImageRootless(t *testing.T) {
	dockerEngine(t)
	debianBase(t)
	image := jobImage(t)
	cfg := jobConfig(t)
	hello, python := helloContext(t), t.TempDir()
	for _, f := range []string{"Dockerfile", "hello.py"} {
		if err := copyFile(filepath.Join(repoDir(t), "examples", "python", f), filepath.Join(python, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{hello, python} {
		if out, err := exec.Command("chmod", "-R", "a+rX", dir).CombinedOutput(); err != nil {
			t.Fatalf("chmod: %v\n%s", err, out)
		}
	}
	job := func(opts []string, script string) (string, error) {
		run := append([]string{"run", "--rm", "--user", "1000:1000", "--network", "host",
			"-v", hello + ":/hello:ro", "-v", python + ":/python:ro", "-v", cfg + ":/etc/builder:ro"}, opts...)
		run = append(run, "--entrypoint", "sh", image, "-euc", script)
		out, err := exec.Command("docker", run...).CombinedOutput()
		return string(out), err
	}
	unconfined := []string{"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"}

	helloRef, pyRef := s.registry+"/ci/rootless-hello:1", s.registry+"/ci/rootless-python:1"
	// A root on the container's own overlayfs, which overlayfs refuses as
	// an upper layer: the native snapshotter, without root as with it.
	out, err := job(unconfined, "id -u; builder build --progress plain -t "+helloRef+" --push /hello"+
		"; builder run --rm "+helloRef+"; builder build --progress plain -t "+pyRef+" --push /python"+
		"; builder --root /tmp/onoverlay build -q /hello >/dev/null; ls /tmp/onoverlay")
	if err != nil {
		t.Fatalf("the rootless job failed: %v\n%s", err, tail([]byte(out)))
	}
	if !strings.HasPrefix(out, "1000\n") || !strings.Contains(out, "\nhello docker\n") {
		t.Errorf("the job ran as %q, or its builder run printed no hello:\n%s", strings.SplitN(out, "\n", 2)[0], tail([]byte(out)))
	}
	if !strings.Contains(out, "\nrunc-native\n") || strings.Contains(out, "\nrunc-overlayfs\n") {
		t.Errorf("a root on the container's overlayfs: want native snapshots only, the root holds:\n%s", tail([]byte(out)))
	}
	for ref, want := range map[string]string{helloRef: "hello docker", pyRef: "hello"} {
		validateRemote(t, "pushed by the rootless job", ref)
		got, err := exec.Command("docker", "run", "--rm", ref).CombinedOutput()
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("docker run %s: %v, printed %q, want %q", ref, err, got, want)
		}
		exec.Command("docker", "rmi", "-f", ref).Run()
	}

	// Without the options docker's default seccomp profile refuses the
	// user namespace: one error, naming them.
	out, err = job(nil, "builder build -q -t x /hello")
	if err == nil || !strings.Contains(out, "--security-opt seccomp=unconfined --security-opt apparmor=unconfined") ||
		strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Errorf("the job without rootless options: want one error naming them, got %v:\n%s", err, out)
	}
}
