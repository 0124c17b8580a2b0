//go:build integration

package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// probeSource is a static program for a container or a RUN step: with
// CAP_NET_RAW (in the default set) it writes Ethernet frames of its own,
// addressed to the gateway's MAC but to 127.0.0.1, carrying a UDP
// datagram to the port it is given: what an attacker in a container
// sends to reach a host service bound to loopback only (CVE-2020-8558).
const probeSource = `package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func fail(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "probe: "+f+"\n", a...)
	os.Exit(1)
}

// gateway is the default route's interface and gateway (/proc/net/route).
func gateway() (string, net.IP) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		fail("%v", err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 2 && fs[1] == "00000000" {
			v, _ := strconv.ParseUint(fs[2], 16, 32)
			ip := make(net.IP, 4)
			binary.LittleEndian.PutUint32(ip, uint32(v))
			return fs[0], ip
		}
	}
	fail("no default route")
	return "", nil
}

// arp is the gateway's MAC, once a datagram to it made the kernel ask.
func arp(gw net.IP) net.HardwareAddr {
	for i := 0; i < 50; i++ {
		if c, err := net.Dial("udp4", gw.String()+":9"); err == nil {
			c.Write([]byte("x"))
			c.Close()
		}
		dt, _ := os.ReadFile("/proc/net/arp")
		for _, l := range strings.Split(string(dt), "\n") {
			fs := strings.Fields(l)
			if len(fs) > 3 && fs[0] == gw.String() && fs[3] != "00:00:00:00:00:00" {
				mac, err := net.ParseMAC(fs[3])
				if err == nil {
					return mac
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail("no ARP entry for %s", gw)
	return nil
}

func csum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

func main() {
	port, _ := strconv.Atoi(os.Args[1])
	msg := []byte(os.Args[2])
	ifname, gw := gateway()
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		fail("%v", err)
	}
	addrs, _ := ifc.Addrs()
	var src net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			src = n.IP.To4()
		}
	}
	dst := net.IPv4(127, 0, 0, 1).To4()
	if len(os.Args) > 3 {
		dst = net.ParseIP(os.Args[3]).To4()
	}
	mac := arp(gw)
	udp := make([]byte, 8+len(msg))
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], uint16(port))
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], msg)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	copy(ip[12:], src)
	copy(ip[16:], dst)
	binary.BigEndian.PutUint16(ip[10:], csum(ip))
	frame := append(append(append(append([]byte{}, mac...), ifc.HardwareAddr...), 0x08, 0x00), append(ip, udp...)...)
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, 0x0300)
	if err != nil {
		fail("raw socket: %v", err)
	}
	to := &syscall.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6, Protocol: 0x0008}
	copy(to.Addr[:], mac)
	for i := 0; i < 5; i++ {
		if err := syscall.Sendto(fd, frame, 0, to); err != nil {
			fail("send: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("sent")
}
`

// loopbackListener is a host service bound to 127.0.0.1 only: the
// datagrams it received, read after the probe ran.
type loopbackListener struct {
	c    *net.UDPConn
	port int
}

func listenLoopback(t *testing.T) *loopbackListener {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &loopbackListener{c: c, port: c.LocalAddr().(*net.UDPAddr).Port}
}

// received is what arrived within a second, or "".
func (l *loopbackListener) received() string {
	var got []string
	b := make([]byte, 1500)
	for {
		l.c.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := l.c.ReadFromUDP(b)
		if err != nil {
			return strings.Join(got, ",")
		}
		got = append(got, string(b[:n]))
	}
}

// TestLoopbackUnreachable: neither a container on builder0 nor a RUN step
// reaches a host service bound to 127.0.0.1 with hand-made frames, before
// and after a `run -p` turned on builder0's route_localnet for portmap's
// hairpin; and a port published on 127.0.0.1 still serves the host.
func TestLoopbackUnreachable(t *testing.T) {
	e := newEnv(t)
	e.must("pull", "busybox")
	ctx := writeContext(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY probe /probe\n",
		"main.go":    probeSource,
	})
	build := exec.Command("go", "build", "-o", filepath.Join(ctx, "probe"), filepath.Join(ctx, "main.go"))
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build probe: %v\n%s", err, out)
	}
	e.must("build", "-t", "probe", ctx)
	l := listenLoopback(t)
	port := strconv.Itoa(l.port)

	probe := func(when string) {
		t.Helper()
		if r := e.run("run", "--rm", "probe", "/probe", port, "run-"+when); r.code != 0 || r.stdout != "sent\n" {
			t.Fatalf("the probe in a container did not run: %s", r)
		}
		if got := l.received(); got != "" {
			t.Errorf("%s: a container reached 127.0.0.1:%s on the host: %q", when, port, got)
		}
		step := writeContext(t, map[string]string{"Dockerfile": "FROM probe\nRUN /probe " + port + " step-" + when + "\n"})
		if r := e.run("build", "--no-cache", "--progress", "plain", step); r.code != 0 || !strings.Contains(r.stderr, "sent") {
			t.Fatalf("the probe in a RUN step did not run: %s", r)
		}
		if got := l.received(); got != "" {
			t.Errorf("%s: a RUN step reached 127.0.0.1:%s on the host: %q", when, port, got)
		}
	}
	probe("before")

	// A port published on 127.0.0.1: portmap's hairpin needs
	// route_localnet on builder0, and the host still reaches it.
	e.must("run", "-d", "--name", "lo", "-p", "127.0.0.1:8091:80", "busybox", "sh", "-c", "mkdir /www && echo lo > /www/index.html && exec httpd -f -p 80 -h /www")
	t.Cleanup(func() { e.run("rm", "-f", "lo") })
	if got := httpGet(t, "http://127.0.0.1:8091/"); got != "lo\n" {
		t.Errorf("127.0.0.1:8091 served %q", got)
	}
	if dt, _ := os.ReadFile("/proc/sys/net/ipv4/conf/builder0/route_localnet"); strings.TrimSpace(string(dt)) != "1" {
		t.Fatalf("route_localnet on builder0 is %q after run -p 127.0.0.1:…: the probe below would prove nothing", dt)
	}
	probe("after")
	// The same frames addressed to the gateway's own address do arrive:
	// the silence above is the rule's, not a broken probe's.
	gw := strings.TrimSpace(e.must("run", "--rm", "busybox", "sh", "-c", "ip route | awk '/default/ {print $3}'").stdout)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(gw)})
	if err != nil {
		t.Fatalf("listen on the gateway %q: %v", gw, err)
	}
	defer c.Close()
	ok := &loopbackListener{c: c, port: c.LocalAddr().(*net.UDPAddr).Port}
	if r := e.run("run", "--rm", "probe", "/probe", strconv.Itoa(ok.port), "control", gw); r.code != 0 {
		t.Fatalf("the control probe: %s", r)
	}
	if got := ok.received(); !strings.Contains(got, "control") {
		t.Errorf("the probe's frames to the gateway %s did not arrive (%q): the probe proves nothing", gw, got)
	}
}
