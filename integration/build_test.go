//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func repoDir(t *testing.T) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(here))
}

// TestHelloExample is the README's walk: compile hello.c statically, build
// the FROM scratch image, list it, run it.
func TestHelloExample(t *testing.T) {
	e := newEnv(t)
	ctxDir := helloContext(t)
	e.must("build", "-t", "hello", ctxDir)

	out := e.must("images").stdout
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`).MatchString(lines[0]) {
		t.Fatalf("images table:\n%s", out)
	}
	if !regexp.MustCompile(`^hello\s+latest\s+[0-9a-f]{12}\s+.*ago\s+[0-9.]+[kM]B$`).MatchString(lines[1]) {
		t.Fatalf("images row: %q", lines[1])
	}
	if got := e.must("image", "ls", "-q").stdout; strings.TrimSpace(got) != strings.Fields(lines[1])[2] {
		t.Errorf("image ls -q = %q; want the ID of %q", got, lines[1])
	}
	if got := e.must("run", "--rm", "hello").stdout; got != "hello docker\n" {
		t.Errorf("run --rm hello printed %q", got)
	}
	// An independent reader sees the store as an OCI layout.
	out2, err := exec.Command("skopeo", "inspect", "--config", "oci:"+filepath.Join(e.root, "images")+":hello").Output()
	if err != nil {
		t.Fatalf("skopeo inspect oci store: %v", err)
	}
	var cfg struct {
		Config struct{ Cmd []string }
	}
	if err := json.Unmarshal(out2, &cfg); err != nil || strings.Join(cfg.Config.Cmd, " ") != "/hello" {
		t.Errorf("skopeo sees config %s (%v)", out2, err)
	}
}

// TestFromRegistryMirror builds on busybox from the registry that the
// config file makes docker.io's mirror, and runs a RUN step with runc.
func TestFromRegistryMirror(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo built > /built && id -u > /uid\nCMD [\"cat\", \"/built\", \"/uid\"]\n",
	})
	e.must("build", "-t", "fromreg", dir)
	if got := e.must("run", "--rm", "fromreg").stdout; got != "built\n0\n" {
		t.Errorf("run printed %q", got)
	}
}

// TestLocalImageAsBase: an image in the store is used by FROM and COPY
// --from with no registry round trip, even when no registry answers.
func TestLocalImageAsBase(t *testing.T) {
	e := newEnv(t)
	base := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo base > /base\n"})
	e.must("build", "-t", "base", base)
	e.must("build", "-t", "other:v1", writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "other\n"}))

	// From here on no registry is reachable: the mirror points nowhere.
	port, _ := freePort()
	os.WriteFile(filepath.Join(e.root, "config.toml"), []byte("[registry.\"docker.io\"]\n  mirrors = [\"127.0.0.1:"+strconv.Itoa(port)+"\"]\n"), 0644)
	app := writeContext(t, map[string]string{
		"Dockerfile.app": "FROM base\nCOPY --from=other:v1 /f /f\nRUN cat /base /f > /both\nCMD [\"cat\", \"/both\"]\n",
	})
	r := e.must("build", "--progress=plain", "-f", filepath.Join(app, "Dockerfile.app"), "-t", "app", app)
	if got := e.must("run", "--rm", "app").stdout; got != "base\nother\n" {
		t.Errorf("run app printed %q", got)
	}
	// The stored base is step 1 of 3, as docker numbers a base it resolved,
	// and the step after it is 2 (BuildKit leaves a named context's base
	// unnumbered); an image only copied from is not numbered. The stage is
	// "stage-0" because COPY --from=IMAGE makes a second one.
	for _, want := range []string{
		"[internal] load metadata for docker.io/library/base:latest\n",
		"[internal] load metadata for docker.io/library/other:v1\n",
		"[stage-0 1/3] FROM docker.io/library/base:latest@sha256:",
		" FROM docker.io/library/other:v1@sha256:",
		"[stage-0 2/3] COPY --from=other:v1 /f /f\n",
		"[stage-0 3/3] RUN cat /base /f > /both\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "[context ") || strings.Contains(r.stderr, "] FROM docker.io/library/other") {
		t.Errorf("progress names a stored base as a named context:\n%s", r.stderr)
	}
	// A stage named like a stored image is the stage, as in docker: `FROM
	// app` below is the stage app, not the image app built above.
	stages := writeContext(t, map[string]string{
		"Dockerfile": "FROM base AS app\nRUN echo stage > /marker\nFROM app\nRUN cat /marker > /seen\nCMD [\"cat\", \"/seen\"]\n",
	})
	e.must("build", "-t", "staged", stages)
	if got := e.must("run", "--rm", "staged").stdout; got != "stage\n" {
		t.Errorf("a stage named like a stored image: run printed %q", got)
	}
	// --pull bypasses the store, so with no registry it must fail.
	if r := e.run("build", "--pull", "-f", filepath.Join(app, "Dockerfile.app"), app); r.code == 0 {
		t.Errorf("--pull with no registry succeeded:\n%s", r)
	}
}

// TestDockerfileTest builds Dockerfile.test, which uses every instruction,
// and checks the config each one leaves.
func TestDockerfileTest(t *testing.T) {
	e := newEnv(t)
	repo := repoDir(t)
	e.must("build", "-f", filepath.Join(repo, "Dockerfile.test"), "--build-arg", "GREETING=hi there",
		"-t", "everything", filepath.Join(repo, "testdata", "everything"))
	out, err := exec.Command("skopeo", "inspect", "--config", "--raw", "oci:"+filepath.Join(e.root, "images")+":everything").Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	var img struct {
		Author string `json:"author"`
		Config struct {
			User         string
			Env          []string
			Entrypoint   []string
			Cmd          []string
			WorkingDir   string
			Labels       map[string]string
			ExposedPorts map[string]struct{}
			Volumes      map[string]struct{}
			StopSignal   string
			Shell        []string
			OnBuild      []string
			Healthcheck  struct{ Test []string }
		} `json:"config"`
	}
	if err := json.Unmarshal(out, &img); err != nil {
		t.Fatal(err)
	}
	c := img.Config
	check := func(what, got, want string) {
		if got != want {
			t.Errorf("%s = %q; want %q", what, got, want)
		}
	}
	check("author (MAINTAINER)", img.Author, "builder tests")
	check("User", c.User, "nobody")
	check("WorkingDir", c.WorkingDir, "/app")
	check("Entrypoint", strings.Join(c.Entrypoint, " "), "/bin/sh -c")
	check("Cmd", strings.Join(c.Cmd, " "), "cat /app/greeting")
	check("label", c.Labels["org.example.greeting"], "hi there")
	check("StopSignal", c.StopSignal, "SIGQUIT")
	check("Shell", strings.Join(c.Shell, " "), "/bin/sh -ec")
	check("OnBuild", strings.Join(c.OnBuild, ";"), "RUN echo child build")
	check("Healthcheck", strings.Join(c.Healthcheck.Test, " "), "CMD-SHELL true")
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("ExposedPorts = %v; want 8080/tcp", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("Volumes = %v; want /data", c.Volumes)
	}
	if !strings.Contains(strings.Join(c.Env, " "), "GREETING=hi there") {
		t.Errorf("Env = %v; want GREETING from ARG", c.Env)
	}
	// RUN, COPY, ADD and the multi-stage COPY --from left their files.
	got := e.must("run", "--rm", "everything").stdout
	if got != "hi there\n" {
		t.Errorf("run printed %q", got)
	}
	got = e.must("run", "--rm", "everything", "cat /app/copied.txt /app/added/inner.txt /app/from-stage /app/heredoc").stdout
	if got != "copied\ninner\nstage one\nheredoc line\n" {
		t.Errorf("files: %q", got)
	}
}

// TestSyntaxDirective: a `# syntax=docker/dockerfile:1` line is served by
// the embedded frontend, offline; the registry has no such image.
func TestSyntaxDirective(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile": "# syntax=docker/dockerfile:1.7\nFROM busybox\nRUN <<EOF\necho heredoc > /h\nEOF\n",
	})
	e.must("build", "-t", "syn", dir)
	if got := e.must("run", "--rm", "syn", "cat", "/h").stdout; got != "heredoc\n" {
		t.Errorf("run printed %q", got)
	}
	// A foreign syntax image is pulled through the gateway as docker
	// does, and fails here because the registry has none.
	dir = writeContext(t, map[string]string{"Dockerfile": "# syntax=example.invalid/frontend:1\nFROM busybox\n"})
	if r := e.run("build", dir); r.code == 0 || !strings.Contains(r.stderr, "example.invalid/frontend") {
		t.Errorf("foreign syntax image: %s", r)
	}
}

// TestDockerignore: .dockerignore and <Dockerfile>.dockerignore are honoured.
func TestDockerignore(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"Dockerfile":                  "FROM busybox\nCOPY . /ctx\nCMD [\"ls\", \"/ctx\"]\n",
		".dockerignore":               "secret*\n!secret-ok\n",
		"secret.key":                  "x",
		"secret-ok":                   "x",
		"keep":                        "x",
		"alt/Dockerfile":              "FROM busybox\nCOPY . /ctx\nCMD [\"ls\", \"/ctx\"]\n",
		"alt/Dockerfile.dockerignore": "keep\n",
	})
	e.must("build", "-t", "ign", dir)
	if got := e.must("run", "--rm", "ign").stdout; strings.Contains(got, "secret.key") || !strings.Contains(got, "secret-ok") || !strings.Contains(got, "keep") {
		t.Errorf(".dockerignore not honoured: %q", got)
	}
	e.must("build", "-f", filepath.Join(dir, "alt", "Dockerfile"), "-t", "ign2", dir)
	if got := e.must("run", "--rm", "ign2").stdout; strings.Contains(got, "keep") || !strings.Contains(got, "secret.key") {
		t.Errorf("Dockerfile.dockerignore not honoured: %q", got)
	}
}

// TestStdinDockerfileAndFlags covers -f -, --iidfile, --metadata-file, -q
// and --label.
func TestStdinDockerfileAndFlags(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"f": "x"})
	iid := filepath.Join(t.TempDir(), "iid")
	md := filepath.Join(t.TempDir(), "md.json")
	r := e.runIn([]byte("FROM scratch\nCOPY f /f\n"), "build", "-q", "-f", "-", "--label", "a=b",
		"--iidfile", iid, "--metadata-file", md, "-t", "stdin:v1", dir)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	id := strings.TrimSpace(r.stdout)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("-q printed %q; want the image ID", r.stdout)
	}
	if dt, _ := os.ReadFile(iid); string(dt) != id {
		t.Errorf("--iidfile holds %q; want %q", dt, id)
	}
	var meta map[string]any
	dt, _ := os.ReadFile(md)
	if err := json.Unmarshal(dt, &meta); err != nil || meta["containerimage.config.digest"] != id {
		t.Errorf("--metadata-file = %s (%v)", dt, err)
	}
	// What docker/build-push-action reads, as buildx writes it.
	desc, _ := meta["containerimage.descriptor"].(map[string]any)
	if d, _ := meta["containerimage.digest"].(string); !strings.HasPrefix(d, "sha256:") || desc["digest"] != d {
		t.Errorf("--metadata-file: containerimage.digest %v, descriptor %v", meta["containerimage.digest"], desc)
	}
	if meta["image.name"] != "docker.io/library/stdin:v1" {
		t.Errorf("--metadata-file: image.name = %v", meta["image.name"])
	}
	if ref, _ := meta["buildx.build.ref"].(string); strings.Count(ref, "/") != 2 {
		t.Errorf("--metadata-file: buildx.build.ref = %q; want builder/node/ref", ref)
	}
	if out := e.must("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout; out != "stdin:v1 "+id+"\n" {
		t.Errorf("images --format: %q", out)
	}
}

// TestBuildFlags covers --secret, --network none, --target and --platform.
func TestBuildFlags(t *testing.T) {
	e := newEnv(t)
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("s3cr3t"), 0600)
	dir := writeContext(t, map[string]string{"Dockerfile": "" +
		"FROM busybox AS first\nRUN echo first > /stage\n" +
		"FROM busybox AS second\n" +
		"RUN --mount=type=secret,id=token cat /run/secrets/token > /seen\n" +
		"RUN ! wget -q -T 2 -O /dev/null http://" + s.registry + "/v2/ && echo offline > /net\n"})
	e.must("build", "--secret", "id=token,src="+secret, "--network", "none", "--platform", "linux/amd64", "-t", "flags", dir)
	if got := e.must("run", "--rm", "flags", "cat", "/seen", "/net").stdout; got != "s3cr3toffline\n" {
		t.Errorf("secret and network: %q", got)
	}
	e.must("build", "--target", "first", "-t", "first", dir)
	if got := e.must("run", "--rm", "first", "cat", "/stage").stdout; got != "first\n" {
		t.Errorf("--target first: %q", got)
	}
	if r := e.run("run", "--rm", "first", "cat", "/seen"); r.code == 0 {
		t.Errorf("--target first built the second stage too")
	}
}
