package network

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker/go-connections/nat"
)

// Port is one published port: HostIP:HostPort on the host to
// ContainerPort/Proto in the container. HostIP "" is every address.
type Port struct {
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Proto         string `json:"proto"`
	// hostRange, for a -p with a host port range and one container
	// port: the ports to pick a free one from.
	hostRange [2]int
}

// ParsePorts reads docker's -p values ([IP:][HOSTPORT:]CONTAINERPORT[/PROTO],
// ranges too), through docker's own parser (go-connections/nat); a host
// port left out is picked when the ports are reserved.
func ParsePorts(specs []string) ([]Port, error) {
	var out []Port
	for _, s := range specs {
		maps, err := nat.ParsePortSpec(s)
		if err != nil {
			return nil, fmt.Errorf("invalid -p %q: %w", s, err)
		}
		for _, m := range maps {
			p := Port{HostIP: m.Binding.HostIP, ContainerPort: m.Port.Int(), Proto: m.Port.Proto()}
			if p.ContainerPort == 0 {
				// docker's daemon refuses it so; the CNI plugin would fail later.
				return nil, fmt.Errorf("invalid -p %q: invalid containerPort: %s", s, m.Port.Port())
			}
			if p.Proto != "tcp" && p.Proto != "udp" {
				return nil, fmt.Errorf("invalid -p %q: builder publishes tcp and udp ports, not %s", s, p.Proto)
			}
			if m.Binding.HostPort != "" {
				lo, hi, err := nat.ParsePortRangeToInt(m.Binding.HostPort)
				if err != nil {
					return nil, fmt.Errorf("invalid -p %q: %w", s, err)
				}
				if lo == hi {
					p.HostPort = lo
				} else {
					p.hostRange = [2]int{lo, hi}
				}
			}
			if p.HostIP != "" && net.ParseIP(p.HostIP) == nil {
				return nil, fmt.Errorf("invalid -p %q: %q is not an IP address", s, p.HostIP)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// Exposed is -P: every port the image EXPOSEs ("80/tcp", "53/udp", "8080"),
// each to a free host port.
func Exposed(exposed map[string]struct{}) ([]Port, error) {
	var out []Port
	for e := range exposed {
		proto, port := nat.SplitProtoPort(e)
		lo, hi, err := nat.ParsePortRangeToInt(port)
		if err != nil {
			return nil, fmt.Errorf("the image's EXPOSE %q: %w", e, err)
		}
		for p := lo; p <= hi; p++ {
			out = append(out, Port{ContainerPort: p, Proto: strings.ToLower(proto)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ContainerPort != out[j].ContainerPort {
			return out[i].ContainerPort < out[j].ContainerPort
		}
		return out[i].Proto < out[j].Proto
	})
	return out, nil
}

// Reservation holds the host ports of a container's published ports
// open, as docker's userland proxy holds them: while the container runs,
// no other container (of any state root) and no other program can take
// them, and they are free again when the holder exits, however it dies.
// Files[i] holds Ports[i].
type Reservation struct {
	Ports []Port
	Files []*os.File
	// closers end what Proxy started.
	closers []io.Closer
}

// Close releases the ports.
func (r *Reservation) Close() {
	if r == nil {
		return
	}
	for _, c := range r.closers {
		c.Close()
	}
	for _, f := range r.Files {
		f.Close()
	}
	r.Files, r.closers = nil, nil
}

// Reserve binds each port's host port (a free one where none was given)
// and returns the ports with their host ports filled in. A port published
// on every address is published on every IPv6 address too, as docker's
// are, where the host has IPv6: the same host port on 0.0.0.0 and on ::.
func Reserve(ports []Port) ([]Port, *Reservation, error) {
	r := &Reservation{}
	var taken map[string]bool
	if len(ports) > 0 {
		taken = forwarded()
	}
	for _, p := range ports {
		got, files, err := reserve(p, taken)
		if err != nil {
			r.Close()
			return nil, nil, err
		}
		r.Ports = append(r.Ports, got...)
		r.Files = append(r.Files, files...)
	}
	return r.Ports, r, nil
}

// reserve binds p's host port, trying each port of its range, or a free
// one; for a port on every address, on 0.0.0.0 and, where the host has
// IPv6, the same port on ::. A port taken lists as in use though nothing
// is bound to it.
func reserve(p Port, taken map[string]bool) ([]Port, []*os.File, error) {
	try := []int{p.HostPort}
	if p.hostRange[1] != 0 {
		try = try[:0]
		for n := p.hostRange[0]; n <= p.hostRange[1]; n++ {
			try = append(try, n)
		}
	} else if p.HostPort == 0 {
		// A free port on 0.0.0.0 may be taken on ::; pick again.
		try = []int{0, 0, 0, 0, 0, 0, 0, 0}
	}
	var last error
	lastIP := p.HostAddr()
	for _, port := range try {
		var got []Port
		var files []*os.File
		addrs := []string{p.HostIP}
		if p.HostIP == "" {
			addrs = append(addrs, "::")
		}
		var err error
		for _, ip := range addrs {
			q := p
			q.HostIP, q.hostRange = ip, [2]int{}
			var f *os.File
			f, q.HostPort, err = bind(p.Proto, q.HostAddr(), port)
			if err != nil && ip == "::" && noIPv6(err) {
				err = nil // a host without IPv6: 0.0.0.0 alone
				break
			}
			if err != nil {
				lastIP = q.HostAddr()
				break
			}
			port = q.HostPort // :: takes the port 0.0.0.0 got
			got, files = append(got, q), append(files, f)
			if taken[p.Proto+"/"+strconv.Itoa(port)] {
				err = fmt.Errorf("%s:%d: forwarded to a container: %w", q.HostAddr(), port, syscall.EADDRINUSE)
				break
			}
		}
		if err == nil {
			return got, files, nil
		}
		for _, f := range files {
			f.Close()
		}
		last = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if errors.Is(last, syscall.EADDRINUSE) {
		shown := strconv.Itoa(p.HostPort)
		if p.hostRange[1] != 0 {
			shown = fmt.Sprintf("%d-%d", p.hostRange[0], p.hostRange[1])
		}
		return nil, nil, fmt.Errorf("Bind for %s:%s failed: port is already allocated", lastIP, shown)
	}
	return nil, nil, fmt.Errorf("publish %s:%d/%s: %w", lastIP, p.HostPort, p.Proto, last)
}

// noIPv6 reports whether err says the host has no IPv6 to bind (the
// module absent, or disabled).
func noIPv6(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// IPv6 reports whether p is published on an IPv6 address. builder0's
// containers have IPv4 addresses only, so these are served by a proxy
// (Reservation.Proxy), as docker's userland proxy serves them for its
// default bridge; the portmap plugin's rules are for the IPv4 ones.
func (p Port) IPv6() bool {
	return p.HostIP != "" && net.ParseIP(p.HostIP).To4() == nil
}

// bind opens a socket on ip:port (port 0: a free one) and returns it as a
// file, for a monitor process to inherit.
func bind(proto, ip string, port int) (*os.File, int, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	// tcp6 and udp6 on :: are IPv6 only (Go sets IPV6_V6ONLY), leaving
	// 0.0.0.0 to its own socket.
	family := "4"
	if net.ParseIP(ip).To4() == nil {
		family = "6"
	}
	switch proto {
	case "udp":
		c, err := net.ListenPacket("udp"+family, addr)
		if err != nil {
			return nil, 0, err
		}
		defer c.Close()
		f, err := c.(*net.UDPConn).File()
		return f, c.LocalAddr().(*net.UDPAddr).Port, err
	case "tcp":
		l, err := net.Listen("tcp"+family, addr)
		if err != nil {
			return nil, 0, err
		}
		defer l.Close()
		f, err := l.(*net.TCPListener).File()
		return f, l.Addr().(*net.TCPAddr).Port, err
	}
	return nil, 0, fmt.Errorf("protocol %q: want tcp or udp", proto)
}

// String is how `builder port` shows p: "80/tcp -> 0.0.0.0:8080".
func (p Port) String() string {
	return p.Key() + " -> " + p.Host()
}

// Key is p's container side as docker keys ports: "80/tcp".
func (p Port) Key() string {
	return strconv.Itoa(p.ContainerPort) + "/" + p.Proto
}

// HostAddr is the host address p is published on: 0.0.0.0 for every one.
func (p Port) HostAddr() string {
	if p.HostIP == "" {
		return "0.0.0.0"
	}
	return p.HostIP
}

// Host is p's host side, "0.0.0.0:8080".
func (p Port) Host() string {
	return net.JoinHostPort(p.HostAddr(), strconv.Itoa(p.HostPort))
}

// Summary is ps's PORTS column, as docker's: "0.0.0.0:8080->80/tcp, ...".
func Summary(ports []Port) string {
	var s []string
	for _, p := range ports {
		s = append(s, p.Host()+"->"+p.Key())
	}
	return strings.Join(s, ", ")
}
