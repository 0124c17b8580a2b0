//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debianNames are the names the tests and the conformance corpus use for
// the one Debian bookworm base the suite makes.
var debianNames = []string{"library/debian:bookworm", "library/debian:latest", "library/debian:12",
	"library/debian:10.13", "library/debian:10.2", "library/debian:9.11", "library/ubuntu:latest"}

var debian once

// debianBase makes a Debian bookworm minbase root filesystem with
// debootstrap, builds it into an image and pushes it under debianNames. It
// runs once per test run, for the first test that needs it.
func debianBase(t *testing.T) {
	t.Helper()
	debian.Do(func() { debian.err = makeDebian(filepath.Join(s.dir, "debian")) })
	if debian.err != nil {
		t.Fatalf("debian base image: %v", debian.err)
	}
}

func makeDebian(dir string) error {
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(dir, 0755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "bookworm", rootfs, debianMirror())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap: %v\n%s", err, tail(out))
	}
	// Device nodes are the runtime's to make; apt's caches are dead weight.
	for _, glob := range []string{"dev/*", "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*"} {
		matches, _ := filepath.Glob(filepath.Join(rootfs, glob))
		for _, m := range matches {
			os.RemoveAll(m)
		}
	}
	df := "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD [\"bash\"]\n"
	return buildBase(dir, df, debianNames)
}

// debianMirror is the Debian mirror this machine's apt uses.
func debianMirror() string {
	f, err := os.Open("/etc/apt/sources.list.d/debian.sources")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "URIs: "); ok && strings.HasSuffix(strings.TrimSpace(u), "/debian") {
				return strings.TrimSpace(u)
			}
		}
	}
	return "http://deb.debian.org/debian"
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// buildkitd is a stock buildkitd built from the BuildKit version go.mod
// pins (`make peers`), with the suite's registry as docker.io's mirror.
type buildkitd struct {
	addr string
	root string
}

func startBuildkitd(t *testing.T) *buildkitd {
	t.Helper()
	bin := filepath.Join(repoDir(t), "bin", "buildkitd")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("stock buildkitd: %v (run `make peers`)", err)
	}
	// A short path: unix socket paths are limited to 108 bytes.
	root, err := os.MkdirTemp("", "bk-")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "buildkitd.toml")
	os.WriteFile(cfg, []byte(mirrorConfig(s.registry)), 0644)
	sock := filepath.Join(root, "buildkitd.sock")
	cmd := exec.Command(bin, "--root", filepath.Join(root, "state"), "--addr", "unix://"+sock, "--config", cfg,
		"--oci-worker=true", "--oci-worker-binary", s.runc, "--oci-worker-snapshotter", "overlayfs")
	// buildkitd also looks runc up on PATH before it enables its OCI worker.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(s.runc)+":"+os.Getenv("PATH"))
	logf, _ := os.Create(filepath.Join(root, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		os.RemoveAll(root)
	})
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return &buildkitd{addr: "unix://" + sock, root: root}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(root, "log"))
	t.Fatalf("buildkitd did not start:\n%s", tail(log))
	return nil
}
