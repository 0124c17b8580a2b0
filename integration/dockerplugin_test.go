//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerClient is one docker CLI binary on this machine.
type dockerClient struct {
	path, version string
}

// dockerClients finds every docker CLI binary on PATH and in the usual
// places (the docker 28 client and Debian's docker.io 20.10 one here). The
// plugin protocol needs no daemon.
func dockerClients(t *testing.T) []dockerClient {
	t.Helper()
	seen := map[string]bool{}
	var out []dockerClient
	dirs := append(filepath.SplitList(os.Getenv("PATH")), "/usr/local/bin", "/usr/bin")
	for _, d := range dirs {
		p := filepath.Join(d, "docker")
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		v, err := exec.Command(p, "version", "--format", "{{.Client.Version}}").Output()
		if err != nil && len(v) == 0 {
			continue
		}
		out = append(out, dockerClient{path: p, version: strings.TrimSpace(string(v))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version > out[j].version })
	if len(out) == 0 {
		t.Skip("SKIP: no docker CLI binary on this machine")
	}
	return out
}

// helloContext is examples/hello with its binary compiled.
func helloContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repoDir(t), "examples", "hello")
	for _, f := range []string{"Dockerfile", "hello.c"} {
		if err := copyFile(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", filepath.Join(dir, "hello"), filepath.Join(dir, "hello.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return dir
}

// pluginEnv runs a docker CLI whose configuration directory is dcfg, with
// builder's root e.root.
func (e *env) docker(ctx context.Context, dc dockerClient, dcfg string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, dc.path, args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dcfg, "BUILDER_ROOT="+e.root, "BUILDKIT_PROGRESS=plain")
	return cmd
}

func (e *env) dockerRun(dc dockerClient, dcfg string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := e.docker(ctx, dc, dcfg, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: append([]string{"(docker " + dc.version + ")"}, args...), stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("docker %v: %v", args, err)
	}
	return r
}

// installPlugin runs builder install-plugin (with args) for the docker
// configuration directory dcfg.
func installPlugin(t *testing.T, dcfg string, args ...string) {
	t.Helper()
	cmd := exec.Command(s.builder, append([]string{"install-plugin"}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dcfg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install-plugin %v: %v\n%s", args, err, out)
	}
}

// TestDockerPlugin drives builder as the docker CLI plugin docker-bld with
// each docker CLI binary on the machine: the plugin listed, docker bld
// build/images/run, exit codes passed through, and with --default's alias
// docker build and docker builder prune going to builder.
func TestDockerPlugin(t *testing.T) {
	clients := dockerClients(t)
	hello := helloContext(t)
	for _, dc := range clients {
		t.Run("docker-"+dc.version, func(t *testing.T) {
			e := newEnv(t)
			dcfg := filepath.Join(t.TempDir(), "docker")
			installPlugin(t, dcfg)
			if _, err := os.Stat(filepath.Join(dcfg, "config.json")); !os.IsNotExist(err) {
				t.Fatalf("install-plugin without --default touched config.json: %v", err)
			}
			help := e.dockerRun(dc, dcfg, "--help")
			if !regexp.MustCompile(`(?m)^\s+bld\*\s+Build and manage images`).MatchString(help.stdout + help.stderr) {
				t.Fatalf("docker --help does not list the plugin:\n%s", help)
			}
			if r := e.dockerRun(dc, dcfg, "bld", "build", "-t", "hello", hello); r.code != 0 {
				t.Fatalf("%s", r)
			}
			if r := e.dockerRun(dc, dcfg, "bld", "images"); r.code != 0 || !regexp.MustCompile(`(?m)^hello\s+latest\s`).MatchString(r.stdout) {
				t.Fatalf("%s", r)
			}
			if r := e.dockerRun(dc, dcfg, "bld", "run", "--rm", "hello"); r.code != 0 || r.stdout != "hello docker\n" {
				t.Fatalf("%s", r)
			}
			// Exit codes pass through the CLI: the container's own, and
			// docker's 127 for a command that is not there.
			if r := e.dockerRun(dc, dcfg, "bld", "run", "--rm", "hello", "/nonexistent"); r.code != 127 {
				t.Fatalf("want exit 127: %s", r)
			}
			if r := e.dockerRun(dc, dcfg, "bld", "ls"); r.code != 1 || !strings.Contains(r.stderr, "'ls' is not a docker bld command") {
				t.Fatalf("unknown verb: %s", r)
			}
			// A docker build flag builder cannot honour is refused by name.
			before := e.storeState()
			if r := e.dockerRun(dc, dcfg, "bld", "build", "--squash", "-t", "sq", hello); r.code == 0 || !strings.Contains(r.stderr, "--squash is not supported") {
				t.Fatalf("--squash: %s", r)
			}
			if after := e.storeState(); after != before {
				t.Fatalf("a refused build changed the store:\n%s\n%s", before, after)
			}

			// With the alias, docker build and docker builder are builder's.
			installPlugin(t, dcfg, "--default")
			if r := e.dockerRun(dc, dcfg, "build", "-t", "hello2", hello); r.code != 0 {
				t.Fatalf("%s", r)
			}
			if r := e.dockerRun(dc, dcfg, "bld", "run", "--rm", "hello2"); r.stdout != "hello docker\n" {
				t.Fatalf("%s", r)
			}
			if r := e.dockerRun(dc, dcfg, "image", "build", "-q", "-t", "hello3", hello); r.code != 0 || !strings.HasPrefix(r.stdout, "sha256:") {
				t.Fatalf("%s", r)
			}
			if r := e.dockerRun(dc, dcfg, "builder", "prune", "-f"); r.code != 0 || !strings.Contains(r.stdout, "Total reclaimed space") {
				t.Fatalf("docker builder prune: %s", r)
			}
			if r := e.dockerRun(dc, dcfg, "build", "--memory", "1g", "-t", "x", hello); r.code == 0 || !strings.Contains(r.stderr, "--memory is not supported") {
				t.Fatalf("--memory: %s", r)
			}
			// The Docker Engine's own images are not builder's.
			if exec.Command(dc.path, "info").Run() == nil {
				if out, err := exec.Command(dc.path, "image", "inspect", "hello2").CombinedOutput(); err == nil {
					t.Fatalf("docker build through the alias reached the engine's store:\n%s", out)
				}
			} else {
				t.Logf("SKIP (part): no Docker Engine to check its image store is untouched")
			}
		})
	}
}

// TestDockerPluginMetadataEarly: the docker CLI asks the plugin for its
// metadata before every run of it, so the answer comes from an init
// function that runs before most of builder's packages are initialised
// (dockerplugin/metareply). GODEBUG=inittrace=1 prints a line per package
// initialised; the metadata request must initialise well under half of
// what `builder --version` does.
func TestDockerPluginMetadataEarly(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), "docker-bld")
	if err := os.Symlink(s.builder, plugin); err != nil {
		t.Fatal(err)
	}
	inits := func(args ...string) (int, string) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		return strings.Count(stderr.String(), "\ninit ") + 1, stdout.String()
	}
	all, _ := inits(s.builder, "--version")
	early, out := inits(plugin, "docker-cli-plugin-metadata")
	var m struct{ SchemaVersion, Vendor, Version string }
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.SchemaVersion != "0.1.0" || m.Vendor != "builder-dev" {
		t.Fatalf("metadata %q: %v", out, err)
	}
	t.Logf("packages initialised: %d for the metadata request, %d for --version", early, all)
	if early*2 > all {
		t.Fatalf("the metadata request initialised %d of %d packages: it is not answered early", early, all)
	}
}

// TestDockerPluginInterrupt is Ctrl-C in `docker bld build`: at a terminal
// the signal reaches the CLI and the plugin (one process group); without
// one the CLI (docker 24 and later) closes DOCKER_CLI_PLUGIN_SOCKET. Either
// way the build stops promptly with a non-zero exit, its RUN process is
// gone and the store is as it was.
func TestDockerPluginInterrupt(t *testing.T) {
	clients := dockerClients(t)
	for _, dc := range clients {
		for _, mode := range []string{"process group", "CLI only"} {
			t.Run(fmt.Sprintf("docker-%s/%s", dc.version, mode), func(t *testing.T) {
				if mode == "CLI only" && dc.version < "24" {
					t.Skipf("SKIP: docker %s predates DOCKER_CLI_PLUGIN_SOCKET", dc.version)
				}
				e := newEnv(t)
				dcfg := filepath.Join(t.TempDir(), "docker")
				installPlugin(t, dcfg)
				marker := fmt.Sprintf("interrupt-%d", time.Now().UnixNano())
				ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo " + marker + " && sleep 120\n"})
				before := e.storeState()
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				build := e.docker(ctx, dc, dcfg, "bld", "build", "--progress", "plain", "-t", "slow", ctxDir)
				build.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				stderr, err := build.StderrPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := build.Start(); err != nil {
					t.Fatal(err)
				}
				var log strings.Builder
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					log.WriteString(sc.Text() + "\n")
					if strings.Contains(sc.Text(), " "+marker) && !strings.Contains(sc.Text(), "RUN") {
						break // the RUN step's own output: it is running
					}
				}
				if mode == "process group" {
					syscall.Kill(-build.Process.Pid, syscall.SIGINT)
				} else {
					build.Process.Signal(syscall.SIGINT)
				}
				start := time.Now()
				go func() {
					for sc.Scan() {
						log.WriteString(sc.Text() + "\n")
					}
				}()
				err = build.Wait()
				took := time.Since(start)
				if err == nil {
					t.Fatalf("the interrupted build succeeded:\n%s", log.String())
				}
				// A cancelled build's failure, as docker build's, passed
				// through by the CLI: not builder killed by the SIGINT
				// (255 from the CLI), which leaves its step's mounts.
				if code := build.ProcessState.ExitCode(); code != 1 {
					t.Fatalf("the interrupted build exited %d (%v), want 1:\n%s", code, err, log.String())
				}
				if took > 30*time.Second {
					t.Fatalf("the build took %v to stop after SIGINT", took)
				}
				time.Sleep(500 * time.Millisecond)
				if out, _ := exec.Command("pgrep", "-f", marker).Output(); len(out) > 0 {
					t.Fatalf("the RUN step still runs after the interrupt: pids %s", out)
				}
				if after := e.storeState(); after != before {
					t.Fatalf("the interrupted build changed the store:\n%s\n%s", before, after)
				}
				// The root is usable again at once.
				e.must("images")
				// The owner unmounted what its step mounted before it
				// exited: nothing is left for the next owner to sweep.
				if left := mountsUnder(t, e.root); len(left) > 0 {
					t.Fatalf("the interrupted build left mounts under its root: %v", left)
				}
			})
		}
	}
}

// TestDockerBuildFlags: docker build's flags for RUN's containers reach
// them (--add-host, --ulimit, --shm-size), --no-cache-filter rebuilds just
// the stage named, and --load puts the image in the store beside -o.
func TestDockerBuildFlags(t *testing.T) {
	e := newEnv(t)
	ctxDir := writeContext(t, map[string]string{"Dockerfile": `FROM busybox AS a
RUN cat /proc/sys/kernel/random/uuid > /a
FROM busybox
COPY --from=a /a /a
RUN grep -w db /etc/hosts > /hosts; ulimit -n > /nofile; df -k /dev/shm | tail -1 | awk '{print $2}' > /shm
`})
	flags := []string{"--add-host", "db:10.0.0.2", "--ulimit", "nofile=1024:2048", "--shm-size", "128m"}
	e.must(append(append([]string{"build", "-t", "flags"}, flags...), ctxDir)...)
	got := e.must("run", "--rm", "flags", "cat", "/hosts", "/nofile", "/shm", "/a").stdout
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 4 || !regexp.MustCompile(`^10\.0\.0\.2\s+db$`).MatchString(lines[0]) || lines[1] != "1024" || lines[2] != "131072" {
		t.Fatalf("RUN saw:\n%s", got)
	}
	// Stage a's RUN: cached on a rebuild, run again with --no-cache-filter a.
	stageACached := func(args ...string) bool {
		t.Helper()
		r := e.must(append(append(append([]string{"build", "--progress", "plain", "-t", "flags"}, flags...), args...), ctxDir)...)
		m := regexp.MustCompile(`(?m)^(#\d+) \[a 2/2\] RUN cat`).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("no step for stage a's RUN:\n%s", r.stderr)
		}
		return strings.Contains(r.stderr, m[1]+" CACHED\n")
	}
	if !stageACached() {
		t.Fatal("stage a's RUN ran again on a plain rebuild")
	}
	if stageACached("--no-cache-filter", "a") {
		t.Fatal("--no-cache-filter a: stage a's RUN came from the cache")
	}
	if !stageACached("--no-cache-filter", "other") {
		t.Fatal("--no-cache-filter other: stage a's RUN ran again")
	}
	// --load with -o: both the file and the store.
	out := filepath.Join(t.TempDir(), "img.tar")
	e.must("build", "-t", "loaded", "--load", "-o", "type=oci,dest="+out, ctxDir)
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	e.must("image", "inspect", "loaded")
	// Refused, each naming the flag, the store unchanged.
	before := e.storeState()
	for flag, args := range map[string][]string{
		"--add-host":   {"--add-host", "db:host-gateway"},
		"--shm-size":   {"--shm-size", "lots"},
		"--ulimit":     {"--ulimit", "nofile"},
		"--cpu-shares": {"-c", "512"},
		"--allow":      {"--allow", "security.insecure"},
		"--builder":    {"--builder", "mybuilder"},
	} {
		r := e.run(append(append([]string{"build", "-t", "refused"}, args...), ctxDir)...)
		if r.code == 0 || !strings.Contains(r.stderr, flag) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%s: want one error line naming it: %s", flag, r)
		}
	}
	if after := e.storeState(); after != before {
		t.Fatalf("refused builds changed the store:\n%s\n%s", before, after)
	}
}

// TestDockerPluginGlobalFlags: the docker CLI passes its own global flags
// ahead of the plugin's name (`docker --debug bld images` runs
// `docker-bld --debug bld images`); builder reads them as docker does, and
// docker's --config is the docker configuration directory (its alias, its
// credentials), never builder's own --config file.
func TestDockerPluginGlobalFlags(t *testing.T) {
	clients := dockerClients(t)
	hello := helloContext(t)
	for _, dc := range clients {
		t.Run("docker-"+dc.version, func(t *testing.T) {
			e := newEnv(t)
			dcfg := filepath.Join(t.TempDir(), "docker")
			installPlugin(t, dcfg)
			e.must("build", "-q", "-t", "hello", hello)
			for _, global := range [][]string{
				{"--debug"}, {"-D"}, {"--context", "default"}, {"-c", "default"},
				{"-H", "unix:///var/run/docker.sock"}, {"--host=unix:///var/run/docker.sock"},
				{"-l", "debug"}, {"--log-level=warn"}, {"--tls=false"}, {"--config", dcfg},
			} {
				args := append(append([]string{}, global...), "bld", "images", "--format", "{{.Repository}}")
				if r := e.dockerRun(dc, dcfg, args...); r.code != 0 || r.stdout != "hello\n" {
					t.Errorf("docker %v: %s", args, r)
				}
			}
			// Through the alias, with the configuration directory named by
			// --config alone (DOCKER_CONFIG points elsewhere).
			aliased := filepath.Join(t.TempDir(), "aliased")
			installPlugin(t, aliased, "--default")
			empty := t.TempDir()
			r := e.dockerRun(dc, empty, "--config", aliased, "build", "-q", "-t", "via-alias", hello)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "sha256:") {
				t.Fatalf("docker --config DIR build: %s", r)
			}
			e.must("image", "inspect", "via-alias")
		})
	}
}
