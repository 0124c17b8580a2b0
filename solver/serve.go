package solver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/builder-dev/builder/internal/rootfile"
	"github.com/gofrs/flock"
	"google.golang.org/grpc"
)

// TLSFiles are the PEM files of buildkitd's and buildctl's --tlscacert,
// --tlscert and --tlskey.
type TLSFiles struct {
	CACert, Cert, Key string
}

// Empty reports whether no file is given.
func (f TLSFiles) Empty() bool { return f.CACert == "" && f.Cert == "" && f.Key == "" }

// TLSFilesFromDir is buildctl's --tlsdir: ca.pem (or ca.crt), cert.pem
// (or tls.crt) and key.pem (or tls.key) in dir.
func TLSFilesFromDir(dir string) (TLSFiles, error) {
	oneOf := func(names ...string) (string, error) {
		for _, n := range names {
			p := filepath.Join(dir, n)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("--tlsdir %s holds neither %s nor %s", dir, names[0], names[1])
	}
	var f TLSFiles
	var err error
	if f.CACert, err = oneOf("ca.pem", "ca.crt"); err != nil {
		return f, err
	}
	if f.Cert, err = oneOf("cert.pem", "tls.crt"); err != nil {
		return f, err
	}
	if f.Key, err = oneOf("key.pem", "tls.key"); err != nil {
		return f, err
	}
	return f, nil
}

// Check reads each file given and names the first that is missing or
// holds no PEM block.
func (f TLSFiles) Check() error {
	for _, c := range []struct{ flag, path string }{{"--tlscacert", f.CACert}, {"--tlscert", f.Cert}, {"--tlskey", f.Key}} {
		if c.path == "" {
			continue
		}
		dt, err := os.ReadFile(c.path)
		if err != nil {
			return fmt.Errorf("%s: %w", c.flag, err)
		}
		if b, _ := pem.Decode(dt); b == nil {
			return fmt.Errorf("%s %s: not a PEM file", c.flag, c.path)
		}
	}
	return nil
}

// serverConfig is mutual TLS: the server presents Cert/Key, and a client
// must present a certificate signed by CACert.
func (f TLSFiles) serverConfig() (*tls.Config, error) {
	if f.CACert == "" || f.Cert == "" || f.Key == "" {
		return nil, errors.New("serving TLS needs all of --tlscacert, --tlscert and --tlskey")
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("--tlscert/--tlskey: %w", err)
	}
	ca, _ := os.ReadFile(f.CACert)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("--tlscacert %s: no certificate in it", f.CACert)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2"}, // gRPC's HTTP/2
	}, nil
}

// listenSpec is one --addr of builder serve.
type listenSpec struct {
	network, address string
	tls              bool
}

// parseListen checks one --addr: unix:///PATH, or tcp://HOST:PORT, which
// without TLS must be a loopback address (anything else reaches the
// solver, and so root on this machine, from the network) and is served
// only when unauthenticated says so: a loopback port has no owner, so
// every account of the machine could build through it, and plant images
// that the user serving it then runs.
func parseListen(addr string, haveTLS, unauthenticated bool) (listenSpec, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return listenSpec{}, fmt.Errorf("--addr %s: %w", addr, err)
	}
	switch u.Scheme {
	case "unix":
		p := u.Path
		if p == "" {
			p = u.Host
		}
		if p == "" {
			return listenSpec{}, fmt.Errorf("--addr %s: no socket path", addr)
		}
		return listenSpec{network: "unix", address: p}, nil
	case "tcp":
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			return listenSpec{}, fmt.Errorf("--addr %s: %w", addr, err)
		}
		if _, err := strconv.Atoi(port); err != nil {
			return listenSpec{}, fmt.Errorf("--addr %s: port %q is not a number", addr, port)
		}
		if !haveTLS {
			ip := net.ParseIP(host)
			if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return listenSpec{}, fmt.Errorf("--addr %s: a non-loopback address is served only with mutual TLS (--tlscacert, --tlscert, --tlskey)", addr)
			}
			if !unauthenticated {
				return listenSpec{}, fmt.Errorf("--addr %s: without mutual TLS (--tlscacert, --tlscert, --tlskey) every account on this machine could build through it as this user; use a unix:// socket, TLS, or --allow-unauthenticated-tcp to accept that", addr)
			}
		}
		return listenSpec{network: "tcp", address: u.Host, tls: haveTLS}, nil
	default:
		return listenSpec{}, fmt.Errorf("--addr %s: unknown scheme %q (want unix:// or tcp://)", addr, u.Scheme)
	}
}

// listen opens l. A unix socket left by a killed server (nothing answers
// on it) is replaced; a live one is an error.
func (l listenSpec) listen(cfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen(l.network, l.address)
	if err != nil && l.network == "unix" && errors.Is(err, syscall.EADDRINUSE) {
		if c, derr := net.DialTimeout("unix", l.address, time.Second); derr == nil {
			c.Close()
			return nil, fmt.Errorf("listen on %s: another server answers there", l.address)
		}
		os.Remove(l.address)
		ln, err = net.Listen(l.network, l.address)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s://%s: %w", l.network, l.address, err)
	}
	if l.network == "unix" {
		// Whoever reaches the socket runs builds as this user.
		if err := os.Chmod(l.address, 0o600); err != nil {
			ln.Close()
			return nil, fmt.Errorf("listen on %s: %w", l.address, err)
		}
	}
	if l.tls {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, nil
}

// ServeOptions are builder serve's.
type ServeOptions struct {
	Options
	// Addrs are the --addr values served besides the root's own socket.
	Addrs []string
	TLS   TLSFiles
	// UnauthenticatedTCP lets a loopback tcp:// address be served without
	// TLS (--allow-unauthenticated-tcp); Serve warns on Log each time.
	UnauthenticatedTCP bool
	// StopTimeout bounds how long a stopping server lets running builds
	// finish before it cancels them.
	StopTimeout time.Duration
	// Ready is called once every address is served, with their URLs.
	Ready func(addrs []string)
}

// Serve makes this process the long-lived owner of opt.Root's embedded
// solver and serves BuildKit's gRPC API (Control, the LLB bridge, health)
// on the root's socket, which builder commands on the root keep using, and
// on each of o.Addrs, until ctx is done. Then it stops accepting, lets the
// running builds finish for up to StopTimeout, and shuts the solver down.
// Bad input fails before anything listens.
func Serve(ctx context.Context, o ServeOptions) error {
	cfg, specs, err := serveSpecs(o)
	if err != nil {
		return err
	}
	if err := prepareRoot(o.Root); err != nil {
		return err
	}
	lock := rootfile.Lock(filepath.Join(o.Root, lockName))
	if err := lockRoot(ctx, lock, o.Root); err != nil {
		return err
	}
	// The addresses are taken before the solver starts, so one in use
	// fails at once.
	var listeners []net.Listener
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	for _, sp := range specs {
		l, err := sp.listen(cfg)
		if err != nil {
			closeAll()
			lock.Unlock()
			return err
		}
		listeners = append(listeners, l)
	}
	ow, err := own(ctx, o.Options, lock)
	if err != nil {
		closeAll()
		return err
	}
	// Whoever reaches the socket runs builds as this user.
	os.Chmod(ow.sock, 0o600)
	listeners = append([]net.Listener{ow.ln}, listeners...)
	errs := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errs <- ow.e.srv.Serve(l) }()
	}
	if o.Ready != nil {
		o.Ready(append([]string{"unix://" + ow.sock}, o.Addrs...))
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	stopServing(ow.e.srv, o)
	closeAll()
	if err := ow.shutdown(ctx, o.Log); err != nil && serveErr == nil {
		serveErr = err
	}
	if errors.Is(serveErr, net.ErrClosed) {
		serveErr = nil
	}
	return serveErr
}

// serveSpecs checks o's TLS files and addresses before anything listens,
// warning of each TCP address served without TLS.
func serveSpecs(o ServeOptions) (*tls.Config, []listenSpec, error) {
	var cfg *tls.Config
	if !o.TLS.Empty() {
		var err error
		if cfg, err = o.TLS.serverConfig(); err != nil {
			return nil, nil, err
		}
	}
	var specs []listenSpec
	for _, a := range o.Addrs {
		l, err := parseListen(a, cfg != nil, o.UnauthenticatedTCP)
		if err != nil {
			return nil, nil, err
		}
		if l.network == "tcp" && !l.tls && o.Log != nil {
			fmt.Fprintf(o.Log, "WARNING: %s is served without TLS: every account on this machine can build through it as this user and name images in its store\n", a)
		}
		specs = append(specs, l)
	}
	return cfg, specs, nil
}

// lockRoot takes the root's solver lock for good. A builder command that
// owns the solver for a moment is waited for; a build or another server
// that keeps it is named.
func lockRoot(ctx context.Context, lock *flock.Flock, root string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := lock.TryLock()
		if err != nil {
			return fmt.Errorf("lock state root %s: %w", root, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("state root %s is in use: builder process %s owns its solver (another builder serve, or a running command); stop it first", root, ownerPID(root))
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopServing stops accepting; running builds finish, within
// o.StopTimeout (a minute by default), and are cancelled after it.
func stopServing(srv *grpc.Server, o ServeOptions) {
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	timeout := o.StopTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	select {
	case <-stopped:
	case <-time.After(timeout):
		fmt.Fprintf(o.Log, "builds still running after %s: cancelling them\n", timeout)
		srv.Stop()
		<-stopped
	}
}
