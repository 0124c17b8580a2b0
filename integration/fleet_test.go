//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fleetNet is a private test network: a bridge on this machine and one
// network namespace per build host, each with a veth on the bridge.
type fleetNet struct {
	bridge string
	subnet string // "10.213.N"
	hosts  []string
}

func ipCmd(t *testing.T, args ...string) error {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newFleetNet makes the bridge (SUBNET.1) and n hosts (SUBNET.2, .3, ...),
// and removes them when the test ends. It skips, visibly, where network
// namespaces cannot be made.
func newFleetNet(t *testing.T, n int) *fleetNet {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("SKIP: no ip (iproute2) to make the test network")
	}
	id := fmt.Sprintf("%d%03d", os.Getpid()%1000, rand.Intn(1000))
	f := &fleetNet{bridge: "bfl" + id, subnet: fmt.Sprintf("10.213.%d", 1+rand.Intn(250))}
	t.Cleanup(func() {
		for _, h := range f.hosts {
			exec.Command("ip", "netns", "del", h).Run()
		}
		exec.Command("ip", "link", "del", f.bridge).Run()
	})
	if err := ipCmd(t, "link", "add", f.bridge, "type", "bridge"); err != nil {
		t.Skipf("SKIP: cannot make a bridge here: %v", err)
	}
	for _, args := range [][]string{{"addr", "add", f.subnet + ".1/24", "dev", f.bridge}, {"link", "set", f.bridge, "up"}} {
		if err := ipCmd(t, args...); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("bfl%s-%d", id, i)
		if err := ipCmd(t, "netns", "add", ns); err != nil {
			t.Skipf("SKIP: cannot make a network namespace here: %v", err)
		}
		f.hosts = append(f.hosts, ns)
		vh, vn := fmt.Sprintf("vf%s%dh", id, i), fmt.Sprintf("vf%s%dn", id, i)
		for _, args := range [][]string{
			{"link", "add", vh, "type", "veth", "peer", "name", vn},
			{"link", "set", vn, "netns", ns},
			{"link", "set", vh, "master", f.bridge, "up"},
			{"-n", ns, "addr", "add", fmt.Sprintf("%s.%d/24", f.subnet, i+2), "dev", vn},
			{"-n", ns, "link", "set", vn, "up"},
			{"-n", ns, "link", "set", "lo", "up"},
		} {
			if err := ipCmd(t, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func (f *fleetNet) ip(i int) string { return fmt.Sprintf("%s.%d", f.subnet, i+2) }

// TestFleet: two build hosts, each `builder serve` on its own root in its
// own network namespace, share one registry cache: a build on A exports
// it, the same build on B is cached from it. Killing B mid-build fails the
// build naming B and leaves A serving.
func TestFleet(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("SKIP: no openssl to make the test CA")
	}
	net := newFleetNet(t, 2)
	stop, reg, err := startRegistryOn(filepath.Join(t.TempDir(), "registry"), net.subnet+".1", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	// The hosts' base image comes from the fleet's registry.
	if out, err := exec.Command("skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
		"docker://"+s.registry+"/library/busybox:latest", "docker://"+reg+"/library/busybox:latest").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	pki := t.TempDir()
	makeCA(t, pki)
	signCertFor(t, pki, "server", net.ip(0), net.ip(1))
	signCert(t, pki, "client")
	p := func(n string) string { return filepath.Join(pki, n) }
	serverTLS := []string{"--tlscacert", p("ca.pem"), "--tlscert", p("server.pem"), "--tlskey", p("server-key.pem")}
	clientTLS := []string{"--tlscacert", p("ca.pem"), "--tlscert", p("client.pem"), "--tlskey", p("client-key.pem")}

	var addrs []string
	var servers []*served
	for i, ns := range net.hosts {
		h := newEnv(t)
		cfg := mirrorConfig(reg)
		if err := os.WriteFile(filepath.Join(h.root, "config.toml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("tcp://%s:1234", net.ip(i))
		servers = append(servers, h.startServeIn(t, ns, append([]string{"--addr", addr}, serverTLS...)...))
		addrs = append(addrs, addr)
	}

	// Host A builds and exports its cache; host B imports it.
	dir := ciContext(t)
	ref := reg + "/cache/fleet:1"
	clientA, clientB := newEnv(t), newEnv(t)
	clientA.must(append(append([]string{"--addr", addrs[0]}, clientTLS...), "build", "-t", "ci",
		"--cache-to", "type=registry,ref="+ref+",mode=max", dir)...)
	r := clientB.must(append(append([]string{"--addr", addrs[1]}, clientTLS...), "build", "--progress", "rawjson", "-t", "ci",
		"--cache-from", "type=registry,ref="+ref, dir)...)
	for name, cached := range steps(t, r.stderr) {
		if !cached {
			t.Errorf("host B ran %q again; want it from host A's cache", name)
		}
	}
	if a, b := clientA.stamp("ci"), clientB.stamp("ci"); a != b {
		t.Errorf("host B's image holds %q, host A's %q", b, a)
	}

	// One build over both hosts: each platform on a host that reports it
	// (amd64 natively on A; arm64, emulated on both, on the less loaded
	// B), pushed as one index.
	if out, err := exec.Command("skopeo", "copy", "--all", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
		"docker://"+s.registry+"/"+multiBusybox, "docker://"+reg+"/library/busybox-multi:latest").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	multi := writeContext(t, map[string]string{"Dockerfile": "FROM busybox-multi\nRUN uname -m > /arch\n"})
	client := newEnv(t)
	cfg := fmt.Sprintf("[registry.%q]\n  http = true\n", reg)
	if err := os.WriteFile(filepath.Join(client.root, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	multiRef := reg + "/fleet/multi:1"
	iid, md := filepath.Join(t.TempDir(), "iid"), filepath.Join(t.TempDir(), "md.json")
	r = client.must(append(append([]string{"--addr", addrs[0], "--addr", addrs[1]}, clientTLS...), "build", "--progress", "plain",
		"--platform", "linux/amd64,linux/arm64", "--push", "-t", multiRef, "--iidfile", iid, "--metadata-file", md, multi)...)
	for _, want := range []string{"building linux/amd64 on " + addrs[0], "building linux/arm64 on " + addrs[1]} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("want %q in the build's output:\n%s", want, tail([]byte(r.stderr)))
		}
	}
	raw, err := exec.Command("skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+multiRef).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw: %v", err)
	}
	var idx struct {
		Manifests []struct {
			Platform struct{ OS, Architecture string }
		}
	}
	json.Unmarshal(raw, &idx)
	got := map[string]bool{}
	for _, m := range idx.Manifests {
		got[m.Platform.OS+"/"+m.Platform.Architecture] = true
	}
	if !got["linux/amd64"] || !got["linux/arm64"] {
		t.Fatalf("the pushed index lists %v:\n%s", got, raw)
	}
	sum := fmt.Sprintf("sha256:%x", sha256.Sum256(raw))
	if dt, _ := os.ReadFile(iid); string(dt) != sum {
		t.Errorf("--iidfile holds %q, want the pushed index %s", dt, sum)
	}
	var meta map[string]any
	if dt, err := os.ReadFile(md); err != nil || json.Unmarshal(dt, &meta) != nil || meta["containerimage.digest"] != sum {
		t.Errorf("--metadata-file: %v %v, want containerimage.digest %s", meta, err, sum)
	}
	client.must("pull", "--platform", "linux/arm64", multiRef)
	if arch := client.must("run", "--rm", "--platform", "linux/arm64", multiRef, "cat", "/arch").stdout; arch != "aarch64\n" {
		t.Errorf("the arm64 image's RUN saw %q", arch)
	}

	// Host B dies mid-build: the build fails naming it; A still serves.
	slow := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 67\n"})
	build, blog := startUntil(t, "RUN sleep 67", s.builder, append(append([]string{"--root", clientB.root, "--addr", addrs[1]}, clientTLS...),
		"build", "--progress", "plain", "-t", "slow", slow)...)
	servers[1].cmd.Process.Signal(syscall.SIGKILL)
	done := make(chan error, 1)
	go func() { done <- build.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("the build on the killed host succeeded:\n%s", blog.String())
		}
	case <-time.After(60 * time.Second):
		build.Process.Kill()
		t.Fatalf("the build on the killed host did not end:\n%s", blog.String())
	}
	if !strings.Contains(blog.String(), net.ip(1)) {
		t.Errorf("the failed build's error does not name host B (%s):\n%s", net.ip(1), tail([]byte(blog.String())))
	}
	clientA.must(append(append([]string{"--addr", addrs[0]}, clientTLS...), "build", "-t", "after", dir)...)
	// B comes back: a new serve on its root sweeps what the killed one
	// left running, and builds again.
	hostB := &env{t: t, root: servers[1].root}
	sv := hostB.startServeIn(t, net.hosts[1], append([]string{"--addr", addrs[1]}, serverTLS...)...)
	clientB.must(append(append([]string{"--addr", addrs[1]}, clientTLS...), "build", "-t", "back", dir)...)
	if err := sv.stop(t, 60*time.Second); err != nil {
		t.Fatalf("serve on B: %v\n%s", err, sv.output())
	}
	if out, _ := exec.Command("pgrep", "-f", "sleep 67").Output(); len(out) > 0 {
		t.Errorf("the killed host's RUN step still runs: pids %s", out)
	}
}
