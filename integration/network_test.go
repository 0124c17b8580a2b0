//go:build integration

package integration

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// httpGet fetches url from the host, retrying while the server starts.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	page, err := tryGet(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return page
}

// tryGet fetches url, retrying for up to 20 s while the server starts.
func tryGet(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	var last error
	for i := 0; i < 80; i++ {
		resp, err := c.Get(url)
		if err == nil {
			dt, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(dt), nil
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	return "", last
}

// netState is what a container on builder0 leaves on the machine: the
// nat and filter rules naming builder's addresses or per-container
// chains (its published ports' BUILDER-P-ID, or an older builder's
// portmap chains), and host-local's leases.
func netState(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "BUILDER-P-") || strings.Contains(l, "CNI-DN-") || strings.Contains(l, "CNI-") && regexp.MustCompile(`\b10\.2(09|10|11)\.`).MatchString(l) {
			keep = append(keep, l)
		}
	}
	leases, _ := filepath.Glob("/var/lib/cni/networks/builder/[0-9]*")
	return strings.Join(keep, "\n") + "\nleases: " + strings.Join(leases, " ")
}

// TestNetworkBridge: run's default network is a namespace of the
// container's own on builder0: its address, hosts and resolv.conf, the
// internet through NAT, other containers by address; -p (TCP, UDP, a
// host address, IPv6 addresses through the holder's proxy), -P, port, ps
// and inspect; stop releasing what it held.
func TestNetworkBridge(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "busybox")
	before := netState(t)
	web := func(name, page, image string, args ...string) {
		t.Helper()
		run := append([]string{"run", "-d", "--name", name}, args...)
		e.must(append(run, image, "sh", "-c", "mkdir /www && echo "+page+" > /www/index.html && exec httpd -f -p 80 -h /www")...)
		t.Cleanup(func() { e.run("rm", "-f", name) })
	}
	web("w1", "one", "busybox", "-p", "8081:80")
	web("w2", "two", "busybox", "-p", "127.0.0.1:8082:80")
	if got := httpGet(t, "http://127.0.0.1:8081/"); got != "one\n" {
		t.Errorf("127.0.0.1:8081 served %q", got)
	}
	if got := httpGet(t, "http://127.0.0.1:8082/"); got != "two\n" {
		t.Errorf("127.0.0.1:8082 served %q", got)
	}
	// The host's own address reaches a port published on every address.
	if out, err := exec.Command("sh", "-c", "ip -4 route get 1.1.1.1 | grep -o 'src [0-9.]*' | cut -d' ' -f2").Output(); err == nil && len(out) > 0 {
		if got := httpGet(t, "http://"+strings.TrimSpace(string(out))+":8081/"); got != "one\n" {
			t.Errorf("the host's address, port 8081, served %q", got)
		}
	}
	// As docker's, a port on every address is on every IPv6 address
	// too, where the host has IPv6; the host's ::1 reaches it through
	// the proxy of the process that holds the port.
	v6 := hostIPv6(t)
	w1Ports, w1PS, w1JSON := "80/tcp -> 0.0.0.0:8081\n", `0\.0\.0\.0:8081->80/tcp`, `{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8081"}]}`
	if v6 {
		w1Ports += "80/tcp -> [::]:8081\n"
		w1PS += `, \[::\]:8081->80/tcp`
		w1JSON = `{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8081"},{"HostIp":"::","HostPort":"8081"}]}`
		if got := httpGet(t, "http://[::1]:8081/"); got != "one\n" {
			t.Errorf("[::1]:8081 served %q", got)
		}
		// A port on one IPv6 address only.
		web("w6", "six", "busybox", "-p", "[::1]:8086:80")
		if got := httpGet(t, "http://[::1]:8086/"); got != "six\n" {
			t.Errorf("[::1]:8086 served %q", got)
		}
		if c, err := net.Dial("tcp4", "127.0.0.1:8086"); err == nil {
			c.Close()
			t.Errorf("-p [::1]:8086:80 is served on 127.0.0.1 too")
		}
		if got := e.must("port", "w6").stdout; got != "80/tcp -> [::1]:8086\n" {
			t.Errorf("port w6 = %q", got)
		}
	}
	if got := e.must("port", "w1").stdout; got != w1Ports {
		t.Errorf("port w1 = %q, want %q", got, w1Ports)
	}
	if got := e.must("port", "w2", "80/tcp").stdout; got != "127.0.0.1:8082\n" {
		t.Errorf("port w2 80/tcp = %q", got)
	}
	if ps := e.must("ps").stdout; !regexp.MustCompile(`(?m)`+w1PS+`\s+w1$`).MatchString(ps) ||
		!regexp.MustCompile(`(?m)127\.0\.0\.1:8082->80/tcp\s+w2$`).MatchString(ps) {
		t.Errorf("ps PORTS:\n%s", ps)
	}
	ip1 := strings.TrimSpace(e.must("container", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "w1").stdout)
	if net.ParseIP(ip1) == nil {
		t.Fatalf("inspect w1: IPAddress %q", ip1)
	}
	if got := e.must("container", "inspect", "-f", `{{json .NetworkSettings.Ports}}`, "w1").stdout; got != w1JSON+"\n" {
		t.Errorf("inspect w1 Ports: %s", got)
	}

	// Another container reaches w1 by address; its own address, hostname
	// and route are its own.
	got := e.must("run", "--rm", "--hostname", "peer", "busybox", "sh", "-c",
		"wget -q -O- http://"+ip1+"/; grep -c peer /etc/hosts; ip -4 -o addr show eth0 | wc -l; ip route | grep -c default").stdout
	if got != "one\n1\n1\n1\n" {
		t.Errorf("a second container on builder0: %q", got)
	}
	// A host program's port, and a port of another container's, are refused.
	l, err := net.Listen("tcp4", "0.0.0.0:8083")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	clashes := map[string]string{"8081": "0.0.0.0:8081", "8083": "0.0.0.0:8083"}
	if v6 {
		// An IPv6-only listener of a host program's.
		l6, err := net.Listen("tcp6", "[::]:8087")
		if err != nil {
			t.Fatal(err)
		}
		defer l6.Close()
		clashes["8087"] = ":::8087"
	}
	for port, shown := range clashes {
		r := e.run("run", "-d", "--name", "clash"+port, "-p", port+":80", "busybox", "true")
		if r.code != 125 || strings.TrimSpace(r.stderr) != "Error: Bind for "+shown+" failed: port is already allocated" {
			t.Errorf("a second -p %s:80: %s", port, r)
		}
		if r := e.run("container", "inspect", "clash"+port); r.code == 0 {
			t.Errorf("the refused run left container clash%s", port)
		}
	}

	// -P: every EXPOSEd port to a free host port.
	e.must("build", "-t", "exposing", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nEXPOSE 80\n"}))
	web("wp", "exposed", "exposing", "-P")
	hostSide, _, _ := strings.Cut(e.must("port", "wp", "80").stdout, "\n")
	if !regexp.MustCompile(`^0\.0\.0\.0:\d+$`).MatchString(hostSide) {
		t.Fatalf("port wp 80 = %q", hostSide)
	}
	if got := httpGet(t, "http://127.0.0.1:"+strings.TrimPrefix(hostSide, "0.0.0.0:")+"/"); got != "exposed\n" {
		t.Errorf("-P port served %q", got)
	}

	// UDP, to an echo server (a static Go program of the test's).
	echo := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY udpecho /udpecho\n",
		"main.go": `package main

import "net"

func main() {
	c, err := net.ListenPacket("udp", ":5353")
	if err != nil {
		panic(err)
	}
	b := make([]byte, 1500)
	for {
		n, addr, err := c.ReadFrom(b)
		if err == nil {
			c.WriteTo(b[:n], addr)
		}
	}
}
`})
	build := exec.Command("go", "build", "-o", filepath.Join(echo, "udpecho"), filepath.Join(echo, "main.go"))
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build udpecho: %v\n%s", err, out)
	}
	e.must("build", "-t", "udpecho", echo)
	e.must("run", "-d", "--name", "udp", "-p", "8084:5353/udp", "udpecho", "/udpecho")
	t.Cleanup(func() { e.run("rm", "-f", "udp") })
	if got := udpEcho(t, "127.0.0.1:8084"); got != "ping" {
		t.Errorf("UDP 127.0.0.1:8084 echoed %q", got)
	}
	if v6 {
		if got := udpEcho(t, "[::1]:8084"); got != "ping" {
			t.Errorf("UDP [::1]:8084 echoed %q", got)
		}
	}

	// stop releases the port (a new container takes it) and the address.
	e.must("stop", "-t", "1", "w1")
	web("w1b", "again", "busybox", "-p", "8081:80")
	if got := httpGet(t, "http://127.0.0.1:8081/"); got != "again\n" {
		t.Errorf("after stop w1, 8081 served %q", got)
	}
	if v6 {
		if got := httpGet(t, "http://[::1]:8081/"); got != "again\n" {
			t.Errorf("after stop w1, [::1]:8081 served %q", got)
		}
		e.must("rm", "-f", "w6")
	}
	for _, c := range []string{"w1", "w1b", "w2", "wp", "udp"} {
		e.must("rm", "-f", c)
	}
	if after := netState(t); after != before {
		t.Errorf("rules or leases left after every container was removed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestNetworkErrors: each bad network input is one error, exit 125, and
// leaves no container; a killed builder's attachment is swept by the next
// command, with no rule or lease left.
func TestNetworkErrors(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "busybox")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-p", "80:80:80:x"}, "invalid -p"},
		{[]string{"-p", "abc"}, "invalid -p"},
		{[]string{"--network", "host", "-p", "80:80"}, "conflicting options: port publishing and the host network mode"},
		{[]string{"--network", "none", "-P"}, "conflicting options: port publishing and the none network mode"},
		{[]string{"--network", "overlay"}, `--network "overlay": want bridge, host or none`},
	} {
		r := e.run(append(append([]string{"run", "--rm"}, tc.args...), "busybox", "true")...)
		if r.code != 125 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("run %v: want one error with %q, got %s", tc.args, tc.want, r)
		}
	}
	cmd := e.cmd(t.Context(), "run", "--rm", "busybox", "true")
	cmd.Env = append(cmd.Env, "BUILDER_CNI_PATH="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "CNI plugin bridge not found") || !strings.Contains(string(out), "make cni") {
		t.Errorf("run without the CNI plugins: %v\n%s", err, out)
	}
	if got := e.must("ps", "-a", "-q").stdout; got != "" {
		t.Errorf("the refused runs left containers: %q", got)
	}

	// builder killed mid-run, then its container: the next command sweeps.
	before := netState(t)
	run := e.cmd(t.Context(), "run", "--name", "k9", "-p", "8085:80", "busybox", "sleep", "600")
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(e.must("ps").stdout, "k9") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if netState(t) == before {
		t.Fatalf("the running container left no trace to sweep")
	}
	run.Process.Signal(syscall.SIGKILL)
	run.Wait()
	e.must("kill", "k9")
	e.must("ps", "-a")
	if after := netState(t); after != before {
		t.Errorf("after builder was killed and the next command ran:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if dirs, _ := filepath.Glob(filepath.Join(e.root, "containers", "*", "cni-*")); len(dirs) != 0 {
		t.Errorf("network namespaces left: %v", dirs)
	}
	e.must("rm", "k9")

	// A build killed in a RUN step: the next solver on the root releases
	// the step's namespace and its address.
	slow := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN sleep 600\n"})
	build := e.cmd(t.Context(), "build", "--no-cache", slow)
	if err := build.Start(); err != nil {
		t.Fatal(err)
	}
	var left []string
	for deadline := time.Now().Add(60 * time.Second); len(left) == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		left, _ = filepath.Glob(filepath.Join(e.root, "net", "cni", "*"))
	}
	if len(left) == 0 {
		t.Fatalf("the RUN step got no network namespace under %s/net/cni", e.root)
	}
	build.Process.Signal(syscall.SIGKILL)
	build.Wait()
	id := filepath.Base(left[0])
	// A build that runs no step: its solver sweeps on starting.
	e.must("build", "-q", writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nENV AFTER=kill\n"}))
	if left, _ := filepath.Glob(filepath.Join(e.root, "net", "cni", "*")); len(left) != 0 {
		t.Errorf("the killed build's step namespaces are still there: %v", left)
	}
	leases, _ := filepath.Glob("/var/lib/cni/networks/builder/[0-9]*")
	for _, l := range leases {
		if dt, _ := os.ReadFile(l); strings.HasPrefix(string(dt), id) {
			t.Errorf("the killed build's step still holds address %s", filepath.Base(l))
		}
	}
}

// TestNetworkDeletedRoot: a state root deleted while its container held
// an address and a published port (its processes killed, its mounts gone:
// a root under /tmp after a reboot) leaves a lease and rules that no
// command of that root will ever release; the next command on builder0,
// from any root, releases them, and leaves alone those of a running
// container of another root.
func TestNetworkDeletedRoot(t *testing.T) {
	alive, gone, next := newEnv(t), newEnv(t), newEnv(t)
	for _, e := range []*env{alive, gone, next} {
		e.must("pull", "busybox")
	}
	before := netState(t)
	alive.must("run", "-d", "--name", "alive", "-p", "8091:80", "busybox", "sh", "-c",
		"mkdir /www && echo alive > /www/index.html && exec httpd -f -p 80 -h /www")
	t.Cleanup(func() { alive.run("rm", "-f", "alive") })
	id := strings.TrimSpace(gone.must("run", "-d", "--name", "gone", "-p", "8092:80", "busybox", "sleep", "600").stdout)
	withGone := netState(t)

	// The root goes without a word to builder: its monitor and container
	// killed, its mounts undone, its directory removed.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if dt, err := os.ReadFile(p); err == nil && strings.Contains(string(dt), "__container-monitor\x00"+id) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if out, err := exec.Command(s.runc, "--root", filepath.Join(gone.root, "runc"), "kill", id, "KILL").CombinedOutput(); err != nil {
		t.Fatalf("runc kill: %v\n%s", err, out)
	}
	time.Sleep(500 * time.Millisecond)
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], gone.root+"/") {
			syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
	if err := os.RemoveAll(gone.root); err != nil {
		t.Fatalf("remove the root: %v", err)
	}
	if netState(t) != withGone {
		t.Fatalf("the deleted root's lease or rules went with it; nothing left to test")
	}

	next.must("run", "--rm", "busybox", "true")
	if got := httpGet(t, "http://127.0.0.1:8091/"); got != "alive\n" {
		t.Errorf("the other root's running container, after the sweep: %q", got)
	}
	alive.must("rm", "-f", "alive")
	if after := netState(t); after != before {
		t.Errorf("the deleted root's address or rules are still there:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Its port is free again too.
	l, err := net.Listen("tcp4", "0.0.0.0:8092")
	if err != nil {
		t.Errorf("port 8092: %v", err)
	} else {
		l.Close()
	}
}

// hostIPv6 reports whether the host can bind an IPv6 address, and says
// so when it cannot.
func hostIPv6(t *testing.T) bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Logf("SKIP publishing on IPv6 addresses: the host has no IPv6: %v", err)
		return false
	}
	l.Close()
	return true
}

// udpEcho sends "ping" to addr until an answer comes back, and returns it.
func udpEcho(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b := make([]byte, 64)
	for i := 0; i < 40; i++ {
		conn.Write([]byte("ping"))
		conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := conn.Read(b); err == nil {
			return string(b[:n])
		}
	}
	return ""
}
