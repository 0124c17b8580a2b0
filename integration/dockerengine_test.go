//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dockerOut runs the docker CLI against the machine's engine.
func dockerOut(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("docker", args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// TestDockerEngineInterop: what builder writes a Docker Engine loads,
// runs and pulls with the same image IDs, and what the engine saves
// builder loads, as a user moving images between the two does.
func TestDockerEngineInterop(t *testing.T) {
	dockerEngine(t)
	e := newEnv(t)
	hello := helloContext(t)
	n := fmt.Sprintf("builder-interop-%d", time.Now().UnixNano())
	var made []string
	t.Cleanup(func() {
		for _, m := range made {
			exec.Command("docker", "rmi", "-f", m).Run()
		}
	})

	// builder build -o type=docker,dest=- | docker load; docker run.
	built := e.must("build", "-q", "-t", n+"-built", "-o", "type=docker,dest=-", hello)
	made = append(made, n+"-built")
	if out := dockerOut(t, []byte(built.stdout), "load"); !strings.Contains(out, n+"-built") {
		t.Fatalf("docker load: %s", out)
	}
	if out := dockerOut(t, nil, "run", "--rm", n+"-built"); out != "hello docker\n" {
		t.Fatalf("docker run printed %q", out)
	}

	// builder save | docker load: the same image ID.
	e.must("build", "-t", n+"-saved", hello)
	made = append(made, n+"-saved")
	id := strings.TrimSpace(e.must("inspect", "--format", "{{.Id}}", n+"-saved").stdout)
	dockerOut(t, []byte(e.must("save", n+"-saved").stdout), "load")
	if got := strings.TrimSpace(dockerOut(t, nil, "image", "inspect", "--format", "{{.Id}}", n+"-saved")); got != id {
		t.Fatalf("builder save | docker load: engine's ID %s, builder's %s", got, id)
	}

	// docker save | builder load -i -: an image the engine made itself
	// (docker import), with the engine's ID, runs under builder.
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	bin, err := os.ReadFile(filepath.Join(hello, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
	tw.Write(bin)
	tw.Close()
	imported := n + "-engine:1"
	dockerOut(t, rootfs.Bytes(), "import", "--change", `CMD ["/hello"]`, "-", imported)
	made = append(made, imported)
	engineID := strings.TrimSpace(dockerOut(t, nil, "image", "inspect", "--format", "{{.Id}}", imported))
	saved := dockerOut(t, nil, "save", imported)
	before := e.storeState()
	if r := e.mustIn([]byte(saved), "load", "-i", "-"); !strings.Contains(r.stdout, "Loaded image: "+imported) {
		t.Fatalf("builder load: %s", r)
	}
	if e.storeState() == before {
		t.Fatal("builder load changed nothing")
	}
	if got := strings.TrimSpace(e.must("inspect", "--format", "{{.Id}}", imported).stdout); got != engineID {
		t.Fatalf("docker save | builder load: builder's ID %s, engine's %s", got, engineID)
	}
	if got := e.must("run", "--rm", imported).stdout; got != "hello docker\n" {
		t.Fatalf("builder run of the engine's image printed %q", got)
	}

	// builder push, docker pull from the test registry (the engine takes
	// plain HTTP from 127.0.0.0/8, as docker always does).
	ref := s.registry + "/interop/hello:" + n
	e.must("tag", n+"-saved", ref)
	e.must("push", ref)
	made = append(made, ref)
	dockerOut(t, nil, "pull", "-q", ref)
	if got := strings.TrimSpace(dockerOut(t, nil, "image", "inspect", "--format", "{{.Id}}", ref)); got != id {
		t.Fatalf("builder push, docker pull: engine's ID %s, builder's %s", got, id)
	}
	if out := dockerOut(t, nil, "run", "--rm", ref); out != "hello docker\n" {
		t.Fatalf("docker run of the pulled image printed %q", out)
	}
}

// TestLoadDashIsStdin: `load -i -` reads standard input, as `save -o -`
// writes standard output (docker save IMG | builder load -i -).
func TestLoadDashIsStdin(t *testing.T) {
	e := newEnv(t)
	e.must("build", "-t", "dash", helloContext(t))
	id := strings.TrimSpace(e.must("inspect", "--format", "{{.Id}}", "dash").stdout)
	other := newEnv(t)
	other.mustIn([]byte(e.must("save", "dash").stdout), "load", "-i", "-")
	if got := strings.TrimSpace(other.must("inspect", "--format", "{{.Id}}", "dash").stdout); got != id {
		t.Fatalf("loaded ID %s, want %s", got, id)
	}
	r := other.run("load", "-i", filepath.Join(t.TempDir(), "missing.tar"))
	if r.code == 0 || strings.Count(r.stderr, "missing.tar") != 1 {
		t.Fatalf("a missing archive: want one error naming it once: %s", r)
	}
}
