package solver

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
)

// dialSession connects a session of the process that runs the embedded
// solver straight to the solver's session manager.
//
// A client's sessions otherwise reach a solver as they reach buildkitd:
// each session's HTTP/2 connection is tunnelled through a gRPC stream of
// the control API (BuildKit's grpchijack) over the root's socket. Every
// byte of a context the solver syncs is then framed by two HTTP/2 layers
// and copied through the kernel on both. Here the session's connection is
// one end of a socket pair whose other end is handed to the manager, as
// buildkitd's Session call hands it the tunnel, with the same headers; the
// session's own protocol is unchanged. A pair of sockets rather than
// net.Pipe: net.Pipe makes every write wait for the reader, which cost the
// transfer its overlap (measured: no faster than the tunnel).
//
// The manager serves the connection until ctx, the session's run, ends.
func (e *embedded) dialSession(ctx context.Context, _ string, meta map[string][]string) (net.Conn, error) {
	client, server, err := socketPair()
	if err != nil {
		return nil, err
	}
	go func() {
		e.sm.HandleConn(ctx, server, meta)
		server.Close()
	}()
	return client, nil
}

// socketPair is a connected pair of unix stream sockets.
func socketPair() (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("create session socket pair: %w", err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "session")
		c, err := net.FileConn(f) // duplicates fd
		f.Close()
		if err != nil {
			if i == 0 {
				syscall.Close(fds[1])
			} else {
				conns[0].Close()
			}
			return nil, nil, fmt.Errorf("create session socket pair: %w", err)
		}
		conns[i] = c
	}
	return conns[0], conns[1], nil
}
