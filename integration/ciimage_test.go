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

// TestCIJobImage: builder's own image (scripts/image.sh, as `make image`
// runs it), loaded into docker, builds and pushes a context mounted into a
// job container, exporting its cache to the registry; a second job, in a
// new container with an empty state root, is fully cached from it.
func TestCIJobImage(t *testing.T) {
	dockerEngine(t)
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

	ctx := ciContext(t)
	cfg := t.TempDir()
	os.WriteFile(filepath.Join(cfg, "config.toml"), []byte(mirrorConfig(s.registry)), 0644)
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
