// Package solver gives the rest of builder a BuildKit client, whether the
// solver runs inside this process (the default) or in a remote buildkitd.
// Everything above the *client.Client is the same code for both.
package solver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/builder-dev/builder/internal/rootfile"
	"github.com/builder-dev/builder/solver/localsource"
	"github.com/gofrs/flock"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/connhelper"
	bkconfig "github.com/moby/buildkit/cmd/buildkitd/config"
	"github.com/moby/buildkit/util/apicaps"
	"github.com/moby/buildkit/util/grpcerrors"
	resolverconfig "github.com/moby/buildkit/util/resolver/config"
	"github.com/moby/buildkit/version"
	"google.golang.org/grpc/codes"

	// BuildKit's gRPC proto codec; buildkitd and buildctl register it too.
	_ "github.com/moby/buildkit/util/grpcutil/encoding/proto"

	// buildctl's connection helpers: --addr docker-container://,
	// kube-pod://, nerdctl-container://, podman-container://, ssh://.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/nerdctlcontainer"
	_ "github.com/moby/buildkit/client/connhelper/podmancontainer"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
)

func init() {
	// Used only in BuildKit's "please update" messages.
	apicaps.ExportedProduct = "builder"
	// The BuildKit version workers report (buildctl debug workers, buildx
	// inspect) is set at link time in BuildKit's own builds; builder's is
	// the module version it was built with, whatever built it.
	if version.Version == "v0.0.0+unknown" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, d := range bi.Deps {
				if d.Path == "github.com/moby/buildkit" {
					version.Version = d.Version
				}
			}
		}
	}
}

// Options says where the solver lives.
type Options struct {
	// Root is the state directory of the embedded solver.
	Root string
	// Addr, when set, names a remote buildkitd (unix://, tcp://); Root is
	// then unused by the solver.
	Addr string
	// Registries is buildkitd.toml's [registry."host"] table, applied by
	// the embedded solver (a remote buildkitd has its own).
	Registries map[string]resolverconfig.RegistryConfig
	// GC is buildkitd.toml's [worker.oci] garbage collection settings for
	// the embedded solver's build cache (zero: buildkitd's defaults).
	GC bkconfig.GCConfig
	// Runc is the runc binary the embedded solver runs steps with.
	Runc string
	// Log receives messages about waiting for other processes.
	Log io.Writer
	// TLS are the client's files for a tcp:// Addr (buildctl's flags);
	// TLSServerName is the name the server's certificate must carry
	// (default: Addr's host).
	TLS           TLSFiles
	TLSServerName string
	// WorkerLabels are added to the worker's labels (buildkitd's
	// --oci-worker-labels); Snapshotter is "", "auto", "overlayfs" or
	// "native" (--oci-worker-snapshotter).
	WorkerLabels map[string]string
	Snapshotter  string
	// Images, when set, receives the images clients name with type=image
	// (builder serve); otherwise such names are not recorded.
	Images ImageSink
	// Entitlements are what builds may be granted (buildkitd's
	// insecure-entitlements: network.host, security.insecure, device);
	// History is buildkitd's [history] (nil: BuildKit's defaults, a record
	// per build). Open sets both for a builder command's own solver
	// (commandSolver); builder serve takes them from its config, as
	// buildkitd does.
	Entitlements []string
	History      *bkconfig.HistoryConfig
	// CDI is buildkitd's [cdi]: the Container Device Interface specs that
	// RUN --device names (enabled by default, from BuildKit's spec
	// directories, as buildkitd).
	CDI bkconfig.CDIConfig
}

// commandSolver is the solver a builder command starts for itself, on a
// root no builder serve owns: builds may use the host's network (the user
// running the command is the one granting it, as with docker build), and no
// history is recorded. BuildKit writes a record per build (progress log,
// provenance, ~12 ms of every build here) for `buildx history`, for which
// builder has no verb; recording none is buildkitd's own switch for it.
func commandSolver(opt Options) Options {
	if !slices.Contains(opt.Entitlements, "network.host") {
		opt.Entitlements = append(slices.Clone(opt.Entitlements), "network.host")
	}
	none := int64(0)
	opt.History = &bkconfig.HistoryConfig{MaxEntries: &none}
	return opt
}

// Solver is a connected BuildKit client plus whatever must be torn down
// after it.
type Solver struct {
	Client *client.Client
	// Remote is true when the client talks to a buildkitd or to another
	// builder process's solver, so files on this machine may not be the
	// solver's.
	Remote bool
	// Local, in the process that runs the embedded solver, takes the
	// local directories of a build's session (localsource): the solver
	// then checks them for changes itself. Nil elsewhere.
	Local *localsource.Dirs
	close func() error
}

// Close disconnects and, for the process that owns the embedded solver,
// waits for other builder processes still using it before shutting it down.
func (s *Solver) Close() error {
	return s.close()
}

const (
	lockName   = "solver.lock"
	socketName = "solver.sock"
)

// Open connects to the solver Options describes. For the embedded solver,
// the first builder process on a root takes its lock and serves the solver on
// a unix socket under the root; later processes connect to that socket, so
// concurrent commands share one solver instead of blocking on its databases.
func Open(ctx context.Context, opt Options) (*Solver, error) {
	if opt.Addr != "" {
		if err := opt.CheckRemote(); err != nil {
			return nil, err
		}
		copts, err := opt.clientTLS()
		if err != nil {
			return nil, err
		}
		c, err := client.New(ctx, opt.Addr, copts...)
		if err != nil {
			return nil, fmt.Errorf("connect to buildkitd at %s: %w", opt.Addr, err)
		}
		return &Solver{Client: c, Remote: true, close: c.Close}, nil
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if err := prepareRoot(opt.Root); err != nil {
		return nil, err
	}
	lock := rootfile.Lock(filepath.Join(opt.Root, lockName))
	warned := false
	start := time.Now()
	for {
		ok, err := lock.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock state root %s: %w", opt.Root, err)
		}
		if ok {
			return serve(ctx, commandSolver(opt), lock)
		}
		if s, err := connect(ctx, opt.Root); err == nil {
			return s, nil
		}
		// The owner is starting up or shutting down: its socket is not
		// there yet or no longer. Try again, and say why we wait.
		if !warned && time.Since(start) > 2*time.Second {
			fmt.Fprintf(opt.Log, "waiting for builder process %s, which holds %s\n", ownerPID(opt.Root), lock.Path())
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for solver lock %s: %w", lock.Path(), context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ownerPID(root string) string {
	dt, err := os.ReadFile(filepath.Join(root, "solver.pid"))
	if err != nil {
		return "(unknown pid)"
	}
	return strings.TrimSpace(string(dt))
}

func connect(ctx context.Context, root string) (*Solver, error) {
	sock := filepath.Join(root, socketName)
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, err
	}
	conn.Close()
	c, err := client.New(ctx, "unix://"+sock)
	if err != nil {
		return nil, err
	}
	// A socket that accepts but whose server is stopping fails here.
	if _, err := c.ListWorkers(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return &Solver{Client: c, Remote: true, close: c.Close}, nil
}

// prepareRoot creates the state root, or restricts an existing one: others
// must never reach the rootfs directories below it (CVE-2021-41091), and
// MkdirAll leaves an existing directory's mode alone.
func prepareRoot(root string) error {
	if err := os.MkdirAll(root, 0700); err != nil {
		return fmt.Errorf("create state root: %w", err)
	}
	if err := os.Chmod(root, 0700); err != nil {
		return fmt.Errorf("restrict state root: %w", err)
	}
	return nil
}

// owner is this process owning a root's embedded solver: the root's lock,
// the solver, and the root's socket, on which it is served to the other
// builder processes on the root (Open) or to any client (Serve).
type owner struct {
	e      *embedded
	root   string
	lock   *flock.Flock
	sock   string
	ln     net.Listener
	cancel context.CancelFunc
}

// own starts the embedded solver of opt.Root for the process holding lock:
// it records the pid, sweeps what a killed owner left, starts the solver
// (which outlives ctx until shutdown, while other processes use it) and
// listens on the root's socket. On failure the lock is released.
func own(ctx context.Context, opt Options, lock *flock.Flock) (_ *owner, retErr error) {
	defer func() {
		if retErr != nil {
			lock.Unlock()
		}
	}()
	// The pid file goes at a clean shutdown: one still here was left by
	// an owner that was killed, whose half-made state is then repaired.
	pidFile := filepath.Join(opt.Root, "solver.pid")
	_, err := os.Lstat(pidFile)
	killedOwner := err == nil
	rootfile.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0600)
	sweepStale(ctx, opt.Root, opt.Runc)
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e, err := newEmbedded(srvCtx, opt, killedOwner)
	if err != nil {
		cancel()
		return nil, err
	}
	sock := filepath.Join(opt.Root, socketName)
	os.Remove(sock) // left by a killed owner; we hold the lock, so it is stale.
	l, err := net.Listen("unix", sock)
	if err != nil {
		cancel()
		e.close()
		return nil, fmt.Errorf("listen on %s: %w", sock, err)
	}
	return &owner{e: e, root: opt.Root, lock: lock, sock: sock, ln: l, cancel: cancel}, nil
}

// shutdown ends ownership once the solver is no longer served: buildkitd
// collects its cache a second after each build, and this process is about
// to exit, so it collects here, at most once a minute per root (the same
// throttle), while it still holds the lock; then it stops the solver and
// releases the lock.
func (o *owner) shutdown(ctx context.Context, log io.Writer) error {
	o.ln.Close()
	os.Remove(o.sock)
	o.e.collectIfDue(context.WithoutCancel(ctx), o.root, log)
	o.cancel()
	err := o.e.close()
	os.Remove(filepath.Join(o.root, "solver.pid"))
	o.lock.Unlock()
	return err
}

func serve(ctx context.Context, opt Options, lock *flock.Flock) (*Solver, error) {
	o, err := own(ctx, opt, lock)
	if err != nil {
		return nil, err
	}
	tl := &trackingListener{Listener: o.ln, idle: make(chan struct{})}
	go o.e.srv.Serve(tl)

	// This process's own sessions skip the socket (dialSession).
	c, err := client.New(ctx, "unix://"+o.sock, client.WithSessionDialer(o.e.dialSession))
	if err != nil {
		o.shutdown(ctx, opt.Log)
		return nil, fmt.Errorf("connect to embedded solver: %w", err)
	}
	closeFn := func() error {
		c.Close()
		// No new peers from here on; those already attached finish first.
		o.ln.Close()
		os.Remove(o.sock)
		if !tl.waitIdle(500 * time.Millisecond) {
			fmt.Fprintf(opt.Log, "waiting for %d other builder process(es) using the solver in %s\n", tl.active(), opt.Root)
			tl.waitIdle(0)
		}
		return o.shutdown(ctx, opt.Log)
	}
	return &Solver{Client: c, Local: o.e.dirs, close: closeFn}, nil
}

// trackingListener counts open connections so the owning process knows when
// the other processes attached to its solver are done.
type trackingListener struct {
	net.Listener
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	return &trackedConn{Conn: conn, l: l}, nil
}

func (l *trackingListener) done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.n == 0 {
		select {
		case l.idle <- struct{}{}:
		default:
		}
	}
}

func (l *trackingListener) active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// waitIdle waits until no connection is open; timeout 0 waits for ever.
func (l *trackingListener) waitIdle(timeout time.Duration) bool {
	var expire <-chan time.Time
	if timeout > 0 {
		expire = time.After(timeout)
	}
	for l.active() > 0 {
		// The idle signal is best effort (a send nobody waits for is
		// dropped), so poll too, briefly: every build's exit waits here.
		select {
		case <-l.idle:
		case <-expire:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
	return true
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(c.l.done)
	return c.Conn.Close()
}

// CheckRemote checks Addr and the TLS files without connecting: a scheme
// BuildKit's client knows (buildctl's connection helpers included), and
// files that exist and hold PEM. Commands check it before anything else.
func (opt Options) CheckRemote() error {
	if opt.Addr == "" {
		if !opt.TLS.Empty() {
			return fmt.Errorf("--tlscacert, --tlscert, --tlskey and --tlsdir are for a remote solver: give --addr")
		}
		return nil
	}
	u, err := url.Parse(opt.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", opt.Addr, err)
	}
	if u.Scheme != "unix" && u.Scheme != "tcp" {
		if h, _ := connhelper.GetConnectionHelper(opt.Addr); h == nil {
			return fmt.Errorf("--addr %s: unknown scheme %q (unix://, tcp://, docker-container://, kube-pod://, nerdctl-container://, podman-container://, ssh://)", opt.Addr, u.Scheme)
		}
	}
	return opt.TLS.Check()
}

// clientTLS is buildctl's client side of TLS: the CA that signed the
// server's certificate, and this client's certificate and key.
func (opt Options) clientTLS() ([]client.ClientOpt, error) {
	if opt.TLS.Empty() {
		return nil, nil
	}
	if err := opt.TLS.Check(); err != nil {
		return nil, err
	}
	var copts []client.ClientOpt
	if opt.TLS.CACert != "" {
		name := opt.TLSServerName
		if name == "" {
			u, err := url.Parse(opt.Addr)
			if err != nil {
				return nil, fmt.Errorf("--addr %s: %w", opt.Addr, err)
			}
			name = u.Hostname()
		}
		copts = append(copts, client.WithServerConfig(name, opt.TLS.CACert))
	}
	if opt.TLS.Cert != "" || opt.TLS.Key != "" {
		if opt.TLS.Cert == "" || opt.TLS.Key == "" {
			return nil, fmt.Errorf("--tlscert and --tlskey go together")
		}
		copts = append(copts, client.WithCredentials(opt.TLS.Cert, opt.TLS.Key))
	}
	return copts, nil
}

// NameLost says which remote solver a lost connection was to: with several
// build hosts, "error reading from server: EOF" alone does not tell which
// one went away. A connection never made (refused, a socket this account
// may not open, a server that does not speak the same protocol) is said
// so: gRPC reports those as a "connection error" of its transport. Other
// errors are returned as they are.
func NameLost(err error, addr string) error {
	if err == nil || addr == "" || grpcerrors.Code(err) != codes.Unavailable {
		return err
	}
	if strings.Contains(err.Error(), "connection error: desc = ") {
		return fmt.Errorf("cannot connect to the solver at %s: %w", addr, err)
	}
	return fmt.Errorf("lost the connection to the solver at %s: %w", addr, err)
}
