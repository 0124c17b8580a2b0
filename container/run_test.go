package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/builder-dev/builder/image"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestEffectiveConfig(t *testing.T) {
	t.Parallel()
	img := ocispec.ImageConfig{Env: []string{"A=1", "B=2"}, Entrypoint: []string{"/ep"}, Cmd: []string{"c"}, WorkingDir: "/w", User: "u"}
	ep := ""
	cfg, err := effectiveConfig(img, RunOptions{Env: []string{"B=3", "C=4"}, Entrypoint: &ep, Args: []string{"sh", "-c", "x"}, User: "0:0"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Env, " ") != "PATH="+image.DefaultPath+" A=1 B=3 C=4" {
		t.Errorf("env %q", cfg.Env)
	}
	if len(cfg.Entrypoint) != 0 || strings.Join(cfg.Cmd, " ") != "sh -c x" || cfg.User != "0:0" || cfg.WorkingDir != "/w" {
		t.Errorf("config %+v", cfg)
	}
	if strings.Join(img.Env, " ") != "A=1 B=2" {
		t.Errorf("the image's config changed: %q", img.Env)
	}
	if _, err := effectiveConfig(img, RunOptions{EnvFiles: []string{"/nonexistent/env"}}); err == nil {
		t.Error("a missing --env-file accepted")
	}
}

func TestVolumeMount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := volumeMount(dir + ":/data:ro")
	if err != nil || m.Source != dir || m.Destination != "/data" || strings.Join(m.Options, ",") != "rbind,rprivate,ro" {
		t.Errorf("volumeMount = %+v, %v", m, err)
	}
	missing := filepath.Join(dir, "new")
	if _, err := volumeMount(missing + ":/new"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
		t.Errorf("a missing host path was not made a directory: %v", err)
	}
	for _, bad := range []string{"named:/data", dir, dir + ":rel", dir + ":/d:rx", "a:b:c:d"} {
		if _, err := volumeMount(bad); err == nil {
			t.Errorf("volumeMount(%q) accepted", bad)
		}
	}
}

func TestNewSpec(t *testing.T) {
	t.Parallel()
	p := records{Paths: NewPaths(t.TempDir())}
	c := &Container{ID: strings.Repeat("a", 64), Network: NetNone, Args: []string{"/bin/sh", "-c", "true"},
		Config: ocispec.ImageConfig{Env: []string{"PATH=/bin"}, WorkingDir: "/srv", User: "1000"}}
	if err := os.MkdirAll(filepath.Join(p.rootfs(c.ID), "etc"), 0755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(p.rootfs(c.ID), "etc", "passwd"), []byte("app:x:1000:1000::/home/app:/bin/sh\n"), 0644)
	vol := t.TempDir()
	spec, err := newSpec(context.Background(), p, c, RunOptions{Hostname: "h1", ReadOnly: true, TTY: true, Volumes: []string{vol + ":/v"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(spec.Process.Args, " ") != "/bin/sh -c true" || spec.Process.Cwd != "/srv" || spec.Hostname != "h1" ||
		!spec.Root.Readonly || !spec.Process.Terminal || spec.Root.Path != p.rootfs(c.ID) {
		t.Errorf("spec: args %q cwd %q hostname %q root %+v terminal %v", spec.Process.Args, spec.Process.Cwd, spec.Hostname, spec.Root, spec.Process.Terminal)
	}
	if spec.Process.User.UID != 1000 || spec.Process.User.GID != 1000 {
		t.Errorf("user %+v", spec.Process.User)
	}
	if spec.Linux.Seccomp == nil {
		t.Error("no seccomp profile")
	}
	found := false
	for _, m := range spec.Mounts {
		found = found || m.Destination == "/v" && m.Source == vol
		if m.Destination == "/run" {
			t.Error("a tmpfs on /run, which docker does not mount")
		}
	}
	if !found {
		t.Errorf("no /v mount in %+v", spec.Mounts)
	}
	if _, err := newSpec(context.Background(), p, c, RunOptions{Volumes: []string{"bad"}}); err == nil {
		t.Error("a bad -v accepted")
	}
}

func TestStartError(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "runc.log")
	os.WriteFile(log, []byte(`{"level":"info","msg":"x"}`+"\n"+`{"level":"error","msg":"exec: \"nope\": executable file not found in $PATH"}`+"\n"), 0644)
	if got := startError(log); !strings.Contains(got, "executable file not found") {
		t.Errorf("startError = %q", got)
	}
	os.WriteFile(log, []byte(`{"level":"info","msg":"x"}`+"\n"), 0644)
	if got := startError(log); got != "" {
		t.Errorf("startError of a clean log = %q", got)
	}
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	var ee *ExitError
	if err := exited(0, nil); err != nil {
		t.Errorf("exited(0) = %v", err)
	}
	if err := exited(3, nil); !errors.As(err, &ee) || ee.Code != 3 || ee.Err != nil {
		t.Errorf("exited(3) = %v", err)
	}
	plain := errors.New("no such container")
	if err := exited(ExitBuilderError, plain); err != plain {
		t.Errorf("a refused request became %v", err)
	}
	if err := RunFailed(plain); !errors.As(err, &ee) || ee.Code != ExitBuilderError || !errors.Is(err, plain) {
		t.Errorf("RunFailed = %v", err)
	}
	nf := &ExitError{Code: ExitNotFound}
	if err := RunFailed(nf); err != nf {
		t.Errorf("RunFailed changed a 127: %v", err)
	}
}

func TestPsMatch(t *testing.T) {
	t.Parallel()
	running := &Container{ID: "abc123" + strings.Repeat("0", 58), Name: "web", Image: "busybox", ImageID: "sha256:feed", Running: true, StartedAt: time.Now(),
		Config: ocispec.ImageConfig{Labels: map[string]string{"tier": "front"}}}
	exited := &Container{ID: "def456" + strings.Repeat("0", 58), Name: "job", Image: "alpine", ImageID: "sha256:beef", StartedAt: time.Now(), ExitCode: 3}
	for _, c := range []struct {
		filters []string
		want    []string
	}{
		{[]string{"name=we"}, []string{"web"}},
		{[]string{"name=web", "name=job"}, []string{"web", "job"}},
		{[]string{"status=exited"}, []string{"job"}},
		{[]string{"exited=3"}, []string{"job"}},
		{[]string{"exited=0"}, nil},
		{[]string{"id=def"}, []string{"job"}},
		{[]string{"label=tier=front"}, []string{"web"}},
		{[]string{"ancestor=feed"}, []string{"web"}},
		{[]string{"ancestor=alpine", "status=running"}, nil},
	} {
		f, err := filtersFor(c.filters)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ctr := range []*Container{running, exited} {
			if psMatch(f, ctr, row(ctr, false)) {
				got = append(got, ctr.Name)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("ps %v = %v; want %v", c.filters, got, c.want)
		}
	}
}
