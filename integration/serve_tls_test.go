//go:build integration

package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// makeCA writes a self-signed CA (ca.pem, ca-key.pem) into dir with openssl.
func makeCA(t *testing.T, dir string) {
	t.Helper()
	openssl(t, dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=builder test CA",
		"-keyout", "ca-key.pem", "-out", "ca.pem")
}

// signCert writes name.pem and name-key.pem, signed by dir's CA, for the
// IP 127.0.0.1 (server and client use).
func signCert(t *testing.T, dir, name string) {
	t.Helper()
	signCertFor(t, dir, name, "127.0.0.1")
}

// signCertFor is signCert for the given IP addresses.
func signCertFor(t *testing.T, dir, name string, ips ...string) {
	t.Helper()
	san := "DNS:localhost"
	for _, ip := range ips {
		san += ",IP:" + ip
	}
	openssl(t, dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN="+name, "-keyout", name+"-key.pem", "-out", name+".csr")
	ext := filepath.Join(dir, name+".ext")
	os.WriteFile(ext, []byte("subjectAltName="+san+"\nextendedKeyUsage=serverAuth,clientAuth\n"), 0o644)
	openssl(t, dir, "x509", "-req", "-in", name+".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
		"-days", "2", "-extfile", ext, "-out", name+".pem")
}

// testPKI makes a test CA with a server and a client certificate for
// 127.0.0.1 and returns the path of one of its files by name (ca.pem,
// server.pem, server-key.pem, client.pem, client-key.pem). It skips,
// visibly, without openssl.
func testPKI(t *testing.T) func(string) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("SKIP: no openssl to make the test CA")
	}
	dir := t.TempDir()
	makeCA(t, dir)
	signCert(t, dir, "server")
	signCert(t, dir, "client")
	return func(n string) string { return filepath.Join(dir, n) }
}

func openssl(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

// TestServeTLS: a non-loopback-capable TCP endpoint with mutual TLS; a
// client with a certificate from the CA builds, one without a certificate
// or with another CA's is refused.
func TestServeTLS(t *testing.T) {
	p := testPKI(t)
	rogue := t.TempDir()
	makeCA(t, rogue)
	signCert(t, rogue, "client")

	e := newEnv(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	e.startServe(t, "--addr", addr, "--tlscacert", p("ca.pem"), "--tlscert", p("server.pem"), "--tlskey", p("server-key.pem"))
	hello := helloContext(t)

	tlsArgs := []string{"--tlscacert", p("ca.pem"), "--tlscert", p("client.pem"), "--tlskey", p("client-key.pem")}
	if out, err := buildctl(t, append(tlsArgs, dockerfileBuild(addr, hello, "type=image,name=tls:1")...)...); err != nil {
		t.Fatalf("buildctl with the CA's client certificate: %v\n%s", err, out)
	}
	if got := e.must("run", "--rm", "tls:1").stdout; got != "hello docker\n" {
		t.Fatalf("run tls:1 printed %q", got)
	}
	// builder --addr with the same files, and with buildctl's --tlsdir.
	other := newEnv(t)
	other.must(append(append([]string{"--addr", addr}, tlsArgs...), "build", "-t", "tls-client", hello)...)
	tlsdir := t.TempDir()
	for from, to := range map[string]string{"ca.pem": "ca.pem", "client.pem": "cert.pem", "client-key.pem": "key.pem"} {
		if err := copyFile(p(from), filepath.Join(tlsdir, to)); err != nil {
			t.Fatal(err)
		}
	}
	other.must("--addr", addr, "--tlsdir", tlsdir, "build", "-t", "tls-dir", hello)

	// Refused: no client certificate; a certificate from another CA; no TLS.
	for name, args := range map[string][]string{
		"no client certificate": {"--tlscacert", p("ca.pem")},
		"another CA's client":   {"--tlscacert", p("ca.pem"), "--tlscert", filepath.Join(rogue, "client.pem"), "--tlskey", filepath.Join(rogue, "client-key.pem")},
	} {
		if out, err := buildctl(t, append(append([]string{"--timeout", "20"}, args...), "--addr", addr, "debug", "workers")...); err == nil {
			t.Errorf("%s: buildctl was served:\n%s", name, out)
		}
		r := other.run(append(append([]string{"--addr", addr}, args...), "build", "-t", "refused", hello)...)
		if r.code == 0 {
			t.Errorf("%s: builder --addr was served: %s", name, r)
		}
	}
	ctxTimeout := exec.Command(buildctlBin(t), "--timeout", "10", "--addr", addr, "debug", "workers")
	if out, err := ctxTimeout.CombinedOutput(); err == nil {
		t.Errorf("plain TCP to a TLS endpoint was served:\n%s", out)
	}
}

// TestServeBadInput: each bad invocation is one error line naming what is
// wrong, a non-zero exit, nothing left listening, and the root free.
func TestServeBadInput(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello\n"), 0o600)
	if _, err := exec.LookPath("openssl"); err == nil {
		makeCA(t, dir)
		signCert(t, dir, "server")
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	hostPort := fmt.Sprintf("127.0.0.1:%d", port)
	sock := filepath.Join(dir, "s.sock")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "http://" + hostPort}, "unknown scheme"},
		{[]string{"--addr", fmt.Sprintf("tcp://0.0.0.0:%d", port)}, "mutual TLS"},
		{[]string{"--addr", fmt.Sprintf("tcp://0.0.0.0:%d", port), "--allow-unauthenticated-tcp"}, "mutual TLS"},
		// A loopback port reaches every account of the machine.
		{[]string{"--addr", "tcp://" + hostPort}, "--allow-unauthenticated-tcp"},
		{[]string{"--addr", "tcp://localhost:" + strconv.Itoa(port)}, "every account on this machine"},
		{[]string{"--addr", "tcp://" + hostPort, "--tlscacert", filepath.Join(dir, "missing.pem"), "--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem")}, "missing.pem"},
		{[]string{"--addr", "tcp://" + hostPort, "--tlscacert", notPEM, "--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem")}, "not a PEM file"},
		{[]string{"--addr", "tcp://" + hostPort, "--tlscacert", filepath.Join(dir, "ca.pem")}, "needs all of"},
		{[]string{"--addr", "unix://" + sock, "--addr", "tcp://" + hostPort + "x"}, "invalid port"},
	} {
		r := e.run(append([]string{"serve"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("serve %v: want one error line with %q: %s", tc.args, tc.want, r)
		}
		if c, err := net.DialTimeout("tcp", hostPort, time.Second); err == nil {
			c.Close()
			t.Errorf("serve %v left %s listening", tc.args, hostPort)
		}
		if _, err := os.Stat(sock); !os.IsNotExist(err) {
			t.Errorf("serve %v left %s: %v", tc.args, sock, err)
		}
	}
	// And the client side: an unknown --addr scheme, a missing TLS file.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "foo://x", "build", "."}, "unknown scheme"},
		{[]string{"--addr", "tcp://" + hostPort, "--tlscacert", filepath.Join(dir, "missing.pem"), "build", "."}, "missing.pem"},
		{[]string{"--addr", "tcp://" + hostPort, "--tlscacert", notPEM, "build", "."}, "not a PEM file"},
	} {
		r := e.run(tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("builder %v: want an error with %q: %s", tc.args, tc.want, r)
		}
	}
	// The root is free: a build takes it at once.
	e.must("build", "-t", "after", helloContext(t))
}

// TestServeBuildx: docker buildx (built from its Go module, `make peers`)
// drives builder serve through its remote driver with mutual TLS: the node
// and its platforms listed, a type=local result, an image pushed to the
// test registry, and one named into the serving root's store.
func TestServeBuildx(t *testing.T) {
	bx := filepath.Join(repoDir(t), "bin", "docker-buildx")
	if _, err := os.Stat(bx); err != nil {
		t.Fatalf("docker-buildx: %v (run `make peers`)", err)
	}
	clients := dockerClients(t)
	dc := clients[0] // the newest docker CLI
	p := testPKI(t)
	e := newEnv(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	e.startServe(t, "--addr", addr, "--tlscacert", p("ca.pem"), "--tlscert", p("server.pem"), "--tlskey", p("server-key.pem"))

	dcfg := filepath.Join(t.TempDir(), "docker")
	if err := os.MkdirAll(filepath.Join(dcfg, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bx, filepath.Join(dcfg, "cli-plugins", "docker-buildx")); err != nil {
		t.Fatal(err)
	}
	docker := func(args ...string) string {
		t.Helper()
		r := e.dockerRun(dc, dcfg, args...)
		if r.code != 0 {
			t.Fatalf("%s", r)
		}
		return r.stdout + r.stderr
	}
	docker("buildx", "create", "--name", "b", "--driver", "remote", "--driver-opt",
		fmt.Sprintf("cacert=%s,cert=%s,key=%s", p("ca.pem"), p("client.pem"), p("client-key.pem")), addr)
	if out := docker("buildx", "inspect", "--bootstrap", "b"); !strings.Contains(out, "Status:") || !strings.Contains(out, "running") || !strings.Contains(out, "linux/amd64") || !strings.Contains(out, "BuildKit version: v0.") || strings.Contains(out, "unknown") {
		t.Fatalf("buildx inspect:\n%s", out)
	}
	if out := docker("buildx", "ls"); !strings.Contains(out, addr) || !strings.Contains(out, "running") {
		t.Fatalf("buildx ls:\n%s", out)
	}
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo from-buildx > /f\n"})
	dest := t.TempDir()
	docker("buildx", "build", "--builder", "b", "-o", "type=local,dest="+dest, ctxDir)
	if got, _ := os.ReadFile(filepath.Join(dest, "f")); string(got) != "from-buildx\n" {
		t.Fatalf("type=local wrote %q", got)
	}
	ref := s.registry + "/buildx/served:1"
	docker("buildx", "build", "--builder", "b", "--push", "-t", ref, ctxDir)
	if out, err := exec.Command("skopeo", "inspect", "--tls-verify=false", "docker://"+ref).CombinedOutput(); err != nil {
		t.Fatalf("skopeo inspect of the pushed image: %v\n%s", err, out)
	}
	docker("buildx", "build", "--builder", "b", "-o", "type=image,name=bx-named:1", ctxDir)
	if got := e.must("run", "--rm", "bx-named:1", "cat", "/f").stdout; got != "from-buildx\n" {
		t.Fatalf("the image buildx named printed %q", got)
	}
}
