// Package container runs containers from images in the local store with
// runc: the image's layers as overlay lowers, a writable layer on top that
// outlives the process (until rm, so it can be committed), and the image
// config (Entrypoint, Cmd, Env, WorkingDir, User) applied.
package container

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/builder-dev/builder/internal/runtime"
	"github.com/builder-dev/builder/network"
	"github.com/builder-dev/builder/rootless"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/console"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/buildkit/util/rootless/specconv"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/profiles/seccomp"
	"github.com/moby/sys/userns"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Exit codes docker gives when the container's process never ran.
const (
	ExitBuilderError = 125 // the run itself failed
	ExitNotRunnable  = 126 // the command cannot be invoked
	ExitNotFound     = 127 // the command cannot be found
)

// RunOptions are `builder run`'s options.
type RunOptions struct {
	Image string
	// Args replace the image's Cmd when given.
	Args []string
	Name string
	// Entrypoint, when set, replaces the image's (and drops its Cmd).
	Entrypoint *string
	Env        []string
	EnvFiles   []string
	Workdir    string
	User       string
	Volumes    []string
	Network    string // "bridge" (the default), "host" or "none"
	// Publish are -p values; PublishAll (-P) publishes every EXPOSEd port.
	Publish     []string
	PublishAll  bool
	Hostname    string
	ReadOnly    bool
	Interactive bool
	TTY         bool
	Remove      bool
	// Platform picks one image of a multi-platform image ("" for this
	// machine's); the container then holds that image's manifest.
	Platform string
	// Detach leaves the container running under a monitor process and
	// prints its ID; its output goes to the log `builder logs` reads.
	Detach bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Error is a failure before the container's process ran, with the exit
// code docker uses for it.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *Error) Unwrap() error { return e.Err }

func fail(err error) (int, error) { return ExitBuilderError, &Error{ExitBuilderError, err} }

// Run creates a container, runs it to completion and returns its process's
// exit code.
func (m Manager) Run(ctx context.Context, o RunOptions) (int, error) {
	// From finding the image until the container's lease holds it, no
	// collection may sweep its blobs.
	mode, err := netMode(o.Network, len(o.Publish) > 0 || o.PublishAll)
	if err != nil {
		return fail(err)
	}
	publish, err := network.ParsePorts(o.Publish)
	if err != nil {
		return fail(err)
	}
	storeDone, err := m.Store.Writing(ctx)
	if err != nil {
		return fail(err)
	}
	defer storeDone()
	img, d, err := m.Store.Lookup(ctx, o.Image)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fail(fmt.Errorf("No such image: %s", o.Image))
		}
		return fail(err)
	}
	if o.Platform != "" {
		if img.Target, d, err = m.Store.ForPlatform(ctx, img.Target, o.Platform); err != nil {
			return fail(fmt.Errorf("image %s: %w", o.Image, err))
		}
	}
	cfg, err := effectiveConfig(d.Config.Config, o)
	if err != nil {
		return fail(err)
	}
	if o.PublishAll {
		exposed, err := network.Exposed(cfg.ExposedPorts)
		if err != nil {
			return fail(err)
		}
		publish = append(publish, exposed...)
	}
	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(args) == 0 {
		return fail(errors.New("no command specified"))
	}
	p := NewPaths(m.Root)
	id := newID()
	name := o.Name
	if name == "" {
		name = generateName(id)
	}
	if err := p.reserveName(name, id); err != nil {
		return fail(err)
	}
	c := &Container{ID: id, Name: name, Image: o.Image, ImageID: d.ID(), Target: img.Target, Config: cfg, Args: args,
		Created: time.Now().UTC(), Remove: o.Remove, Network: mode, Publish: publish}
	if err := os.MkdirAll(p.dir(id), 0700); err != nil {
		os.Remove(p.nameFile(name))
		return fail(err)
	}
	// The lease is taken before the record is saved, and released after
	// it is removed, so a listed container's image is always held.
	if err := m.Store.Lease(ctx, id, img.Target); err != nil {
		p.remove(c)
		return fail(err)
	}
	storeDone()
	// Until the rootfs is mounted, the layers this container needs must
	// not be collected by a process that has not seen its record.
	layersDone, err := p.usingLayers()
	if err != nil {
		p.remove(c)
		return fail(err)
	}
	defer layersDone()
	if err := p.save(c); err != nil {
		p.remove(c)
		return fail(err)
	}
	lowers, err := layerDirs(ctx, m.Store, d, p.layers())
	if err != nil {
		p.remove(c)
		return fail(err)
	}
	// The host ports stay reserved until the container exits: by this
	// process in the foreground, by the monitor (which inherits them) with -d.
	ports, err := p.attach(ctx, c, hostname(c, o))
	if err != nil {
		p.remove(c)
		return fail(err)
	}
	defer ports.Close()
	if !o.Detach {
		if err := serve(c, ports); err != nil {
			p.remove(c)
			return fail(err)
		}
	}
	if err := prepareBundle(ctx, p, c, lowers, o); err != nil {
		p.remove(c)
		return fail(err)
	}
	layersDone()
	c.Running, c.StartedAt = true, time.Now().UTC()
	p.save(c)
	if o.Detach {
		if err := spawnMonitor(p, c, m.Runtime, ports); err != nil {
			p.remove(c)
			return fail(err)
		}
		fmt.Fprintln(o.Stdout, c.ID)
		return 0, nil
	}
	code, runErr := runRunc(ctx, m.Runtime, p, c, o)
	p.finish(c, code, ports)
	return code, runErr
}

// finish records a container's exit and releases its rootfs mount (the
// writable layer stays for commit), or removes it for --rm.
// ports, the container's reserved host ports, are freed before the
// network is released, and that before stop returns (waitFinished).
func (p Paths) finish(c *Container, code int, ports *network.Reservation) {
	unix.Unmount(p.rootfs(c.ID), unix.MNT_DETACH)
	c.Running, c.FinishedAt, c.ExitCode = false, time.Now().UTC(), code
	ports.Close()
	if c.Remove {
		p.remove(c)
		return
	}
	p.save(c)
	warn(p.release(c))
}

// effectiveConfig is the image config with the run options applied.
func effectiveConfig(img ocispec.ImageConfig, o RunOptions) (ocispec.ImageConfig, error) {
	cfg := img
	cfg.Env = append([]string{}, img.Env...)
	if !hasEnv(cfg.Env, "PATH") {
		// docker gives an image without PATH (an import, say) its default.
		cfg.Env = append([]string{"PATH=" + defaultPath}, cfg.Env...)
	}
	for _, f := range o.EnvFiles {
		vars, err := readEnvFile(f)
		if err != nil {
			return cfg, err
		}
		cfg.Env = mergeEnv(cfg.Env, vars)
	}
	var env []string
	for _, e := range o.Env {
		if e, ok := hostValue(e); ok {
			env = append(env, e)
		}
	}
	cfg.Env = mergeEnv(cfg.Env, env)
	if o.Entrypoint != nil {
		cfg.Entrypoint = nil
		if *o.Entrypoint != "" {
			cfg.Entrypoint = []string{*o.Entrypoint}
		}
		cfg.Cmd = nil
	}
	if len(o.Args) > 0 {
		cfg.Cmd = o.Args
	}
	if o.Workdir != "" {
		cfg.WorkingDir = o.Workdir
	}
	if o.User != "" {
		cfg.User = o.User
	}
	return cfg, nil
}

func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line, ok := hostValue(line); ok {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// hostValue completes a bare NAME (docker's -e NAME, or such a line in an
// env file) with this process's value; ok is false when it has none, and
// the variable is then left out, as docker does.
func hostValue(e string) (string, bool) {
	if strings.Contains(e, "=") {
		return e, true
	}
	v, ok := os.LookupEnv(e)
	return e + "=" + v, ok
}

func mergeEnv(env, add []string) []string {
	for _, a := range add {
		k, _, _ := strings.Cut(a, "=")
		replaced := false
		for i, e := range env {
			if strings.HasPrefix(e, k+"=") {
				env[i], replaced = a, true
			}
		}
		if !replaced {
			env = append(env, a)
		}
	}
	return env
}

func prepareBundle(ctx context.Context, p Paths, c *Container, lowers []string, o RunOptions) error {
	dir := p.dir(c.ID)
	for _, sub := range []string{"upper", "work", "rootfs", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0700); err != nil {
			return fmt.Errorf("create container %s: %w", c.ID, err)
		}
	}
	// The upper directory's mode is the container's / mode: 0755, as in
	// docker, or non-root users cannot traverse /. (The container directory
	// above it stays 0700: nothing outside reaches the rootfs.)
	for _, sub := range []string{"upper", "empty"} {
		if err := os.Chmod(filepath.Join(dir, sub), 0755); err != nil {
			return err
		}
	}
	if len(lowers) == 0 {
		// FROM scratch with no files: overlay needs one lower.
		lowers = []string{filepath.Join(dir, "empty")}
	}
	if err := mountRootfs(lowers, p.upper(c.ID), filepath.Join(dir, "work"), p.rootfs(c.ID)); err != nil {
		return err
	}
	spec, err := newSpec(ctx, p, c, o)
	if err != nil {
		unix.Unmount(p.rootfs(c.ID), unix.MNT_DETACH)
		return err
	}
	dt, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return os.WriteFile(p.specPath(c.ID), dt, 0600)
}

// hostname is the container's: --hostname, else its short ID, as docker's.
func hostname(c *Container, o RunOptions) string {
	if o.Hostname != "" {
		return o.Hostname
	}
	return c.ID[:12]
}

func newSpec(ctx context.Context, p Paths, c *Container, o RunOptions) (*specs.Spec, error) {
	cfg := c.Config
	opts := []oci.SpecOpts{
		oci.WithRootFSPath(p.rootfs(c.ID)),
		oci.WithProcessArgs(c.Args...),
		oci.WithEnv(cfg.Env),
		oci.WithHostname(hostname(c, o)),
	}
	// docker mounts no tmpfs on /run (containerd's default spec does): an
	// image's /run/lock, /var/lock's target in Debian, stays.
	opts = append(opts, oci.WithoutRunMount)
	opts = append(opts, p.netSpec(c)...)
	// Open files as docker gives a container: the limits of the process
	// that starts it (dockerd's), not containerd's default 1024, which
	// keeps apachectl, say, from raising its own to 8192.
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err == nil {
		opts = append(opts, withRlimit("RLIMIT_NOFILE", nofile.Max, nofile.Cur))
	}
	if cfg.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if cfg.User != "" {
		opts = append(opts, oci.WithUser(cfg.User))
	}
	if o.ReadOnly {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if o.TTY {
		opts = append(opts, oci.WithTTY)
	}
	for _, v := range o.Volumes {
		m, err := volumeMount(v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, oci.WithMounts([]specs.Mount{m}))
	}
	ctx = namespaces.WithNamespace(ctx, "builder")
	spec, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: c.ID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("container config: %w", err)
	}
	// docker's default seccomp profile, adjusted to the spec's capabilities.
	if spec.Linux.Seccomp, err = seccomp.GetDefaultProfile(spec); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if userns.RunningInUserNS() {
		// builder run by an unprivileged account: no cgroup of the host's
		// may be written, and /sys cannot be mounted in the host's network
		// namespace; the same conversion as the build steps' (BuildKit's).
		if _, err := specconv.ToRootless(spec); err != nil {
			return nil, fmt.Errorf("container config: %w", err)
		}
		if rootless.ProcMasked() {
			rootless.BindProc(spec)
		}
	}
	return spec, nil
}

// volumeMount parses -v HOST:CONTAINER[:ro|rw]. A missing host path is
// created as a directory, as docker does; a host path starting with "."
// is the working directory's, as docker's CLI (23 and later) takes it.
func volumeMount(v string) (specs.Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) >= 2 && (parts[0] == "." || parts[0] == ".." || strings.HasPrefix(parts[0], "./") || strings.HasPrefix(parts[0], "../")) {
		abs, err := filepath.Abs(parts[0])
		if err != nil {
			return specs.Mount{}, fmt.Errorf("-v %q: %w", v, err)
		}
		parts[0] = abs
	}
	if len(parts) < 2 || len(parts) > 3 || !filepath.IsAbs(parts[0]) || !filepath.IsAbs(parts[1]) {
		return specs.Mount{}, fmt.Errorf("-v %q: want /host/path:/container/path[:ro] (named volumes are not supported)", v)
	}
	if _, err := os.Stat(parts[0]); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(parts[0], 0755); err != nil {
			return specs.Mount{}, fmt.Errorf("-v %q: %w", v, err)
		}
	}
	opts := []string{"rbind", "rprivate"}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			opts = append(opts, "ro")
		case "rw":
		default:
			return specs.Mount{}, fmt.Errorf("-v %q: unknown option %q", v, parts[2])
		}
	}
	return specs.Mount{Destination: parts[1], Type: "bind", Source: parts[0], Options: opts}, nil
}

func runRunc(ctx context.Context, rt runtime.Runtime, p Paths, c *Container, o RunOptions) (int, error) {
	dir := p.dir(c.ID)
	logPath := filepath.Join(dir, "runc.log")
	// With a terminal (spec.Process.Terminal), runc in the foreground makes
	// the pseudo-terminal itself, puts ours in raw mode, copies both ways
	// and forwards window-size changes: it is handed our terminal as is.
	stdio := runtime.Stdio{Stdout: o.Stdout, Stderr: o.Stderr}
	if !o.Detach && !o.TTY {
		// docker keeps a foreground container's output for `logs` too. (With
		// -t, runc copies the terminal itself and nothing can be kept.)
		log, err := openLog(p.logPath(c.ID))
		if err != nil {
			return fail(err)
		}
		defer log.Close()
		stdio.Stdout = io.MultiWriter(o.Stdout, log.Stream(stdcopy.Stdout))
		stdio.Stderr = io.MultiWriter(o.Stderr, log.Stream(stdcopy.Stderr))
	}
	if o.Interactive || o.TTY {
		stdio.Stdin = o.Stdin
	}
	var slave *os.File
	var copied chan struct{}
	if o.TTY && o.Detach {
		// A detached monitor has no terminal to hand runc (runc opens
		// /dev/tty). It gives runc one of its own and copies what the
		// container writes to it into the log, as docker does for -dt.
		pty, slavePath, err := console.NewPty()
		if err != nil {
			return fail(fmt.Errorf("allocate a terminal: %w", err))
		}
		defer pty.Close()
		pty.Resize(console.WinSize{Height: 24, Width: 80})
		slave, err = os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			return fail(fmt.Errorf("open terminal %s: %w", slavePath, err))
		}
		stdio = runtime.Stdio{Stdin: slave, Stdout: slave, Stderr: slave, Setsid: true}
		copied = make(chan struct{})
		go func() {
			defer close(copied)
			io.Copy(o.Stdout, pty) // ends with EIO once runc, the last holder of the slave, exits
		}()
	}
	proc, startErr := rt.Run(ctx, c.ID, dir, logPath, stdio)
	if slave != nil {
		// runc holds the terminal now; with this copy closed, the copy
		// ends when runc exits.
		slave.Close()
	}
	if startErr != nil {
		return fail(startErr)
	}
	if copied != nil {
		defer func() { <-copied }()
	}
	type exit struct {
		code int
		err  error
	}
	done := make(chan exit, 1)
	go func() {
		code, err := proc.Wait()
		done <- exit{code, err}
	}()
	var e exit
	select {
	case e = <-done:
	case <-ctx.Done():
		// runc relays signals to the container: ask it to stop, as
		// docker's signal proxy does, and give it time before killing.
		proc.Signal(syscall.SIGTERM)
		select {
		case e = <-done:
		case <-time.After(10 * time.Second):
			proc.Signal(syscall.SIGKILL)
			e = <-done
		}
	}
	if e.err != nil {
		return fail(fmt.Errorf("run runc: %w", e.err))
	}
	if e.code == 0 {
		return 0, nil
	}
	if msg := startError(logPath); msg != "" {
		code := ExitBuilderError
		switch {
		case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
			code = ExitNotFound
		case strings.Contains(msg, "permission denied"):
			code = ExitNotRunnable
		}
		// runc has already printed msg on stderr.
		return code, &Error{code, nil}
	}
	return e.code, nil
}

// startError returns runc's error when it failed before the container's
// process ran ("" when the process ran and simply exited non-zero).
func startError(logPath string) string {
	dt, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	var last string
	for _, line := range strings.Split(string(dt), "\n") {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && (e.Level == "error" || e.Level == "fatal") {
			last = e.Msg
		}
	}
	return last
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// withRlimit sets the spec's limit typ, replacing the default's.
func withRlimit(typ string, hard, soft uint64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *specs.Spec) error {
		var keep []specs.POSIXRlimit
		for _, r := range s.Process.Rlimits {
			if r.Type != typ {
				keep = append(keep, r)
			}
		}
		s.Process.Rlimits = append(keep, specs.POSIXRlimit{Type: typ, Hard: hard, Soft: soft})
		return nil
	}
}
