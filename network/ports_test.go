package network

import (
	"fmt"
	"io"
	"net"
	"reflect"
	"testing"
	"time"
)

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts([]string{"8080:80", "127.0.0.1:53:53/udp", "9000-9001:90-91", "8000-8010:70", "443", "[::1]:8443:443"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Port{
		{HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 53, ContainerPort: 53, Proto: "udp"},
		{HostPort: 9000, ContainerPort: 90, Proto: "tcp"},
		{HostPort: 9001, ContainerPort: 91, Proto: "tcp"},
		{ContainerPort: 70, Proto: "tcp", hostRange: [2]int{8000, 8010}},
		{ContainerPort: 443, Proto: "tcp"},
		{HostIP: "::1", HostPort: 8443, ContainerPort: 443, Proto: "tcp"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePorts:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"abc", "80:80:80:x", "1-3:4-5", "80/sctp", "[::1:80:80", "70000", "18106:0", "0"} {
		if _, err := ParsePorts([]string{bad}); err == nil {
			t.Errorf("ParsePorts(%q) accepted it", bad)
		}
	}
	if _, err := ParsePorts([]string{"18106:0"}); err == nil || err.Error() != `invalid -p "18106:0": invalid containerPort: 0` {
		t.Errorf("ParsePorts(18106:0): %v, want docker's invalid containerPort", err)
	}
}

func TestExposedAndSummary(t *testing.T) {
	got, err := Exposed(map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8080": {}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Port{{ContainerPort: 53, Proto: "udp"}, {ContainerPort: 80, Proto: "tcp"}, {ContainerPort: 8080, Proto: "tcp"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Exposed: %+v", got)
	}
	ps := []Port{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, {HostIP: "::", HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, {HostIP: "127.0.0.1", HostPort: 53, ContainerPort: 53, Proto: "udp"}}
	if s := Summary(ps); s != "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 127.0.0.1:53->53/udp" {
		t.Errorf("Summary = %q", s)
	}
	if s := ps[0].String(); s != "80/tcp -> 0.0.0.0:8080" {
		t.Errorf("String = %q", s)
	}
	if s := ps[1].String(); s != "80/tcp -> [::]:8080" {
		t.Errorf("String = %q", s)
	}
}

// hasIPv6 reports whether this host can bind an IPv6 address.
func hasIPv6(t *testing.T) bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Logf("SKIP the IPv6 half: %v", err)
		return false
	}
	l.Close()
	return true
}

// TestReserve: a port on every address is held on 0.0.0.0 and, where the
// host has IPv6, the same port on ::; a port taken on either is refused
// with docker's message, and nothing stays held.
func TestReserve(t *testing.T) {
	ports, r, err := Reserve([]Port{{ContainerPort: 80, Proto: "tcp"}, {ContainerPort: 53, Proto: "udp"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v6 := hasIPv6(t)
	want := 2
	if v6 {
		want = 4
	}
	if len(ports) != want || len(r.Files) != want {
		t.Fatalf("Reserve gave %+v (%d files), want %d ports", ports, len(r.Files), want)
	}
	if !v6 {
		return
	}
	if ports[0].HostIP != "" || ports[1].HostIP != "::" || ports[0].HostPort != ports[1].HostPort || ports[0].HostPort == 0 {
		t.Errorf("tcp: %+v", ports[:2])
	}
	if ports[2].HostIP != "" || ports[3].HostIP != "::" || ports[2].HostPort != ports[3].HostPort || ports[2].Proto != "udp" {
		t.Errorf("udp: %+v", ports[2:])
	}
	// Taken on :: only (an IPv6-only listener of another program's).
	l, err := net.Listen("tcp6", "[::]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, _, err = Reserve([]Port{{HostPort: port, ContainerPort: 80, Proto: "tcp"}})
	if want := fmt.Sprintf("Bind for :::%d failed: port is already allocated", port); err == nil || err.Error() != want {
		t.Errorf("Reserve of a port taken on ::: %v, want %q", err, want)
	}
	// 0.0.0.0 was let go again.
	l4, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		t.Errorf("the refused reservation still holds 0.0.0.0:%d: %v", port, err)
	} else {
		l4.Close()
	}
}

// TestProxy: a port published on an IPv6 address reaches the container's
// IPv4 address through the holder's proxy, TCP and UDP; Close ends it.
func TestProxy(t *testing.T) {
	if !hasIPv6(t) {
		return
	}
	srv, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	usrv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer usrv.Close()
	go func() {
		b := make([]byte, 1500)
		for {
			n, a, err := usrv.ReadFrom(b)
			if err != nil {
				return
			}
			usrv.WriteTo(b[:n], a)
		}
	}()
	tcpPort, udpPort := srv.Addr().(*net.TCPAddr).Port, usrv.LocalAddr().(*net.UDPAddr).Port
	ports, r, err := Reserve([]Port{{HostIP: "::1", ContainerPort: tcpPort, Proto: "tcp"}, {HostIP: "::1", ContainerPort: udpPort, Proto: "udp"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Proxy("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp6", ports[0].Host())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("ping"))
	c.(*net.TCPConn).CloseWrite()
	if got, _ := io.ReadAll(c); string(got) != "ping" {
		t.Errorf("TCP through %s echoed %q", ports[0].Host(), got)
	}
	c.Close()
	u, err := net.Dial("udp6", ports[1].Host())
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("pong"))
	u.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	if n, err := u.Read(b); err != nil || string(b[:n]) != "pong" {
		t.Errorf("UDP through %s: %q, %v", ports[1].Host(), b[:n], err)
	}
	u.Close()
	r.Close()
	if c, err := net.Dial("tcp6", ports[0].Host()); err == nil {
		c.Close()
		t.Errorf("%s still served after Close", ports[0].Host())
	}
}

// A range of the same host and container ports is one rule; a shifted
// range and single ports are a rule each.
func TestDNATRules(t *testing.T) {
	ports, err := ParsePorts([]string{"1-1000:1-1000", "9000-9001:90-91", "127.0.0.1:8082:80", "53:53/udp", "8081:80"})
	if err != nil {
		t.Fatal(err)
	}
	got := dnatRules("10.209.0.5", ports)
	want := []string{
		"-p tcp -m tcp --dport 1:1000 -j DNAT --to-destination 10.209.0.5",
		"-p tcp -m tcp --dport 8081 -j DNAT --to-destination 10.209.0.5:80",
		"-p tcp -m tcp --dport 9000 -j DNAT --to-destination 10.209.0.5:90",
		"-p tcp -m tcp --dport 9001 -j DNAT --to-destination 10.209.0.5:91",
		"-p tcp -d 127.0.0.1/32 -m tcp --dport 8082 -j DNAT --to-destination 10.209.0.5:80",
		"-p udp -m udp --dport 53 -j DNAT --to-destination 10.209.0.5:53",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dnatRules:\n got %q\nwant %q", got, want)
	}
}
