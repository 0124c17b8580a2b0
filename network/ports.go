package network

import (
	"errors"
	"fmt"
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
			if p.HostIP != "" && net.ParseIP(p.HostIP).To4() == nil {
				return nil, fmt.Errorf("invalid -p %q: builder0 publishes on IPv4 addresses only", s)
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
type Reservation struct {
	Files []*os.File
}

// Close releases the ports.
func (r *Reservation) Close() {
	if r == nil {
		return
	}
	for _, f := range r.Files {
		f.Close()
	}
	r.Files = nil
}

// Reserve binds each port's host port (a free one where none was given)
// and returns the ports with their host ports filled in.
func Reserve(ports []Port) ([]Port, *Reservation, error) {
	r := &Reservation{}
	out := make([]Port, len(ports))
	for i, p := range ports {
		f, port, err := reserve(p)
		if err != nil {
			r.Close()
			return nil, nil, err
		}
		p.HostPort, p.hostRange = port, [2]int{}
		out[i] = p
		r.Files = append(r.Files, f)
	}
	return out, r, nil
}

func reserve(p Port) (*os.File, int, error) {
	ip := p.HostAddr()
	try := []int{p.HostPort}
	if p.hostRange[1] != 0 {
		try = try[:0]
		for n := p.hostRange[0]; n <= p.hostRange[1]; n++ {
			try = append(try, n)
		}
	}
	var last error
	for _, port := range try {
		f, got, err := bind(p.Proto, ip, port)
		if err == nil {
			return f, got, nil
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
		return nil, 0, fmt.Errorf("Bind for %s:%s failed: port is already allocated", ip, shown)
	}
	return nil, 0, fmt.Errorf("publish %s:%d/%s: %w", ip, p.HostPort, p.Proto, last)
}

// bind opens a socket on ip:port (port 0: a free one) and returns it as a
// file, for a monitor process to inherit.
func bind(proto, ip string, port int) (*os.File, int, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	switch proto {
	case "udp":
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return nil, 0, err
		}
		defer c.Close()
		f, err := c.(*net.UDPConn).File()
		return f, c.LocalAddr().(*net.UDPAddr).Port, err
	case "tcp":
		l, err := net.Listen("tcp4", addr)
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
