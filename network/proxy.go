package network

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// udpIdle is how long a UDP client's flow to the container is kept
// without traffic: docker-proxy's conntrack timeout.
const udpIdle = 90 * time.Second

// Proxy serves r's ports published on IPv6 addresses, forwarding each
// connection (TCP) or each client's datagrams (UDP) to the container's
// address ip, as docker's userland proxy does for its IPv4-only default
// bridge: the kernel cannot translate IPv6 to an IPv4 address. It runs
// until Close. Ports on IPv4 addresses need nothing here: the portmap
// plugin's rules forward them.
func (r *Reservation) Proxy(ip string) error {
	if r == nil {
		return nil
	}
	for i, p := range r.Ports {
		if !p.IPv6() {
			continue
		}
		to := net.JoinHostPort(ip, strconv.Itoa(p.ContainerPort))
		switch p.Proto {
		case "tcp":
			l, err := net.FileListener(r.Files[i])
			if err != nil {
				return fmt.Errorf("proxy %s: %w", p.Host(), err)
			}
			r.closers = append(r.closers, l)
			go proxyTCP(l, to)
		case "udp":
			c, err := net.FilePacketConn(r.Files[i])
			if err != nil {
				return fmt.Errorf("proxy %s: %w", p.Host(), err)
			}
			r.closers = append(r.closers, c)
			go proxyUDP(c, to)
		}
	}
	return nil
}

// proxyTCP copies each connection l accepts to and from a connection to
// the container's port, each direction closing its write side when the
// other's reads end.
func proxyTCP(l net.Listener, to string) {
	for {
		in, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like
			continue
		}
		go func() {
			defer in.Close()
			out, err := net.DialTimeout("tcp4", to, 10*time.Second)
			if err != nil {
				return // the client sees its connection closed
			}
			defer out.Close()
			var wg sync.WaitGroup
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				io.Copy(dst, src)
				dst.(*net.TCPConn).CloseWrite()
			}
			go pipe(out, in)
			go pipe(in, out)
			wg.Wait()
		}()
	}
}

// proxyUDP forwards each client's datagrams from c to the container's
// port through a socket of the client's own, and the answers back, until
// the client is idle for udpIdle.
func proxyUDP(c net.PacketConn, to string) {
	var mu sync.Mutex
	flows := map[string]net.Conn{}
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				mu.Lock()
				for _, f := range flows {
					f.Close()
				}
				mu.Unlock()
				return
			}
			continue
		}
		mu.Lock()
		flow, ok := flows[from.String()]
		if !ok {
			flow, err = net.Dial("udp4", to)
			if err != nil {
				mu.Unlock()
				continue
			}
			flows[from.String()] = flow
			go func(key string, flow net.Conn, client net.Addr) {
				defer func() {
					mu.Lock()
					delete(flows, key)
					mu.Unlock()
					flow.Close()
				}()
				b := make([]byte, 65535)
				for {
					flow.SetReadDeadline(time.Now().Add(udpIdle))
					n, err := flow.Read(b)
					if err != nil {
						return
					}
					if _, err := c.WriteTo(b[:n], client); err != nil {
						return
					}
				}
			}(from.String(), flow, from)
		}
		mu.Unlock()
		flow.SetReadDeadline(time.Now().Add(udpIdle))
		flow.Write(buf[:n])
	}
}
