// Package container runs containers from images in the local store with
// runc: the image's layers as overlay lowers, a writable layer on top, and
// the image config (Entrypoint, Cmd, Env, WorkingDir, User) applied.
package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/moby/profiles/seccomp"
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
	Args   []string
	Remove bool
	Runc   string
	// Root is builder's state root; containers and unpacked layers live
	// below it.
	Root   string
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

// Run runs a container to completion and returns its process's exit code.
func Run(ctx context.Context, st *store.Store, o RunOptions) (int, error) {
	_, d, err := st.Lookup(ctx, o.Image)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ExitBuilderError, &Error{ExitBuilderError, fmt.Errorf("No such image: %s", o.Image)}
		}
		return ExitBuilderError, &Error{ExitBuilderError, err}
	}
	args := append(append([]string{}, d.Config.Config.Entrypoint...), d.Config.Config.Cmd...)
	if len(o.Args) > 0 {
		args = append(append([]string{}, d.Config.Config.Entrypoint...), o.Args...)
	}
	if len(args) == 0 {
		return ExitBuilderError, &Error{ExitBuilderError, errors.New("no command specified")}
	}
	lowers, err := layerDirs(ctx, st, d, filepath.Join(o.Root, "layers"))
	if err != nil {
		return ExitBuilderError, &Error{ExitBuilderError, err}
	}
	id := newID()
	dir := filepath.Join(o.Root, "containers", id)
	b, err := prepareBundle(ctx, dir, id, lowers, d, args)
	if err != nil {
		os.RemoveAll(dir)
		return ExitBuilderError, &Error{ExitBuilderError, err}
	}
	defer func() {
		unix.Unmount(b.rootfs, unix.MNT_DETACH)
		if o.Remove {
			os.RemoveAll(dir)
		}
	}()
	return runRunc(ctx, o, dir, id)
}

type bundle struct{ rootfs string }

func prepareBundle(ctx context.Context, dir, id string, lowers []string, d store.Details, args []string) (*bundle, error) {
	b := &bundle{rootfs: filepath.Join(dir, "rootfs")}
	for _, sub := range []string{"upper", "work", "rootfs", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0700); err != nil {
			return nil, fmt.Errorf("create container %s: %w", id, err)
		}
	}
	// The upper directory's mode is the container's / mode: 0755, as in
	// docker, or non-root users cannot traverse /. (The container directory
	// above it stays 0700: nothing outside reaches the rootfs.)
	for _, sub := range []string{"upper", "empty"} {
		if err := os.Chmod(filepath.Join(dir, sub), 0755); err != nil {
			return nil, err
		}
	}
	if len(lowers) == 0 {
		// FROM scratch with no files: overlay needs one lower.
		lowers = []string{filepath.Join(dir, "empty")}
	}
	if err := mountRootfs(lowers, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), b.rootfs); err != nil {
		return nil, err
	}
	spec, err := newSpec(ctx, id, b.rootfs, d, args)
	if err != nil {
		unix.Unmount(b.rootfs, unix.MNT_DETACH)
		return nil, err
	}
	dt, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), dt, 0600); err != nil {
		return nil, err
	}
	return b, nil
}

func newSpec(ctx context.Context, id, rootfs string, d store.Details, args []string) (*specs.Spec, error) {
	cfg := d.Config.Config
	env := cfg.Env
	if !hasEnv(env, "PATH") {
		// docker gives an image without PATH (an import, say) its default.
		env = append([]string{"PATH=" + defaultPath}, env...)
	}
	opts := []oci.SpecOpts{
		oci.WithRootFSPath(rootfs),
		oci.WithProcessArgs(args...),
		oci.WithEnv(env),
		oci.WithHostname(id[:12]),
		// Host networking until run gets its own network namespaces.
		oci.WithHostNamespace(specs.NetworkNamespace),
		oci.WithHostResolvconf,
		oci.WithHostHostsFile,
	}
	if cfg.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if cfg.User != "" {
		opts = append(opts, oci.WithUser(cfg.User))
	}
	ctx = namespaces.WithNamespace(ctx, "builder")
	spec, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: id}, opts...)
	if err != nil {
		return nil, fmt.Errorf("container config: %w", err)
	}
	// docker's default seccomp profile, adjusted to the spec's capabilities.
	if spec.Linux.Seccomp, err = seccomp.GetDefaultProfile(spec); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	return spec, nil
}

func runRunc(ctx context.Context, o RunOptions, dir, id string) (int, error) {
	logPath := filepath.Join(dir, "runc.log")
	cmd := exec.Command(o.Runc, "--root", filepath.Join(o.Root, "runc"), "--log", logPath, "--log-format", "json",
		"run", "--bundle", dir, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	if err := cmd.Start(); err != nil {
		return ExitBuilderError, &Error{ExitBuilderError, fmt.Errorf("start runc: %w", err)}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// runc relays signals to the container: ask it to stop, as
		// docker's signal proxy does, and give it time before killing.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			err = <-done
		}
	}
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return ExitBuilderError, &Error{ExitBuilderError, fmt.Errorf("run runc: %w", err)}
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
	return ee.ExitCode(), nil
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
