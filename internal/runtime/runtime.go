package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	gorunc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Runtime runs containers with one runc binary on one runc state
// directory. Every error runc gives is returned with what runc said.
type Runtime struct {
	binary string
	root   string // runc --root; "" is runc's default
}

// New is the runtime of runc binary on runc state directory root ("" for
// runc's default, where BuildKit's executor keeps its RUN steps).
func New(binary, root string) Runtime { return Runtime{binary: binary, root: root} }

// ForContainers is the runtime of builder's containers under a state root:
// runc keeps their state in ROOT/runc.
func ForContainers(binary, stateRoot string) Runtime {
	return New(binary, filepath.Join(stateRoot, "runc"))
}

// Binary is the runc binary.
func (r Runtime) Binary() string { return r.binary }

func (r Runtime) runc(log string) *gorunc.Runc {
	rc := &gorunc.Runc{Command: r.binary, Root: r.root}
	if log != "" {
		rc.Log, rc.LogFormat = log, gorunc.JSON
	}
	return rc
}

// Status is runc's status of container id: "running", "paused",
// "stopped", "created"; "" when runc has no record of it.
func (r Runtime) Status(ctx context.Context, id string) string {
	c, err := r.runc("").State(ctx, id)
	if err != nil {
		return ""
	}
	return c.Status
}

// Alive reports whether container id's process still runs (or is paused).
func (r Runtime) Alive(ctx context.Context, id string) bool {
	s := r.Status(ctx, id)
	return s == "running" || s == "paused"
}

// Container is one runc record.
type Container struct{ ID, Bundle string }

// List returns every container runc has a record of.
func (r Runtime) List(ctx context.Context) ([]Container, error) {
	list, err := r.runc("").List(ctx)
	if err != nil {
		return nil, fmt.Errorf("runc list: %w", err)
	}
	out := make([]Container, 0, len(list))
	for _, c := range list {
		out = append(out, Container{ID: c.ID, Bundle: c.Bundle})
	}
	return out, nil
}

// Pause freezes container id.
func (r Runtime) Pause(ctx context.Context, id string) error {
	return wrap("pause", r.runc("").Pause(ctx, id))
}

// Resume thaws container id.
func (r Runtime) Resume(ctx context.Context, id string) error {
	return wrap("resume", r.runc("").Resume(ctx, id))
}

// Kill sends sig to container id's process.
func (r Runtime) Kill(ctx context.Context, id string, sig syscall.Signal) error {
	return wrap("kill", r.runc("").Kill(ctx, id, int(sig), nil))
}

// Delete removes runc's record of container id, killing what still runs.
// A container runc has no record of is already deleted.
func (r Runtime) Delete(ctx context.Context, id string) error {
	err := r.runc("").Delete(ctx, id, &gorunc.DeleteOpts{Force: true})
	if err != nil && r.Status(ctx, id) == "" {
		return nil
	}
	return wrap("delete", err)
}

func wrap(verb string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("runc %s: %s", verb, strings.TrimSpace(err.Error()))
}

// Stdio is what a container's process is given. With Terminal, runc in
// the foreground makes the pseudo-terminal itself, puts Stdin's terminal
// in raw mode and copies both ways; Setsid makes Stdin (a terminal's
// slave) runc's controlling terminal, for a process with no terminal of
// its own to give.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Setsid         bool
}

// goruncIO hands Stdio to go-runc, which sets it on runc's command.
type goruncIO struct{ Stdio }

func (s goruncIO) Set(cmd *exec.Cmd) {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdio.Stdin, s.Stdio.Stdout, s.Stdio.Stderr
	if s.Setsid {
		cmd.SysProcAttr.Setpgid = false
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
	}
}

func (goruncIO) Close() error          { return nil }
func (goruncIO) Stdin() io.WriteCloser { return nil }
func (goruncIO) Stdout() io.ReadCloser { return nil }
func (goruncIO) Stderr() io.ReadCloser { return nil }

// Process is a running runc (run or exec) in the foreground.
type Process struct {
	Pid  int
	done chan result
}

type result struct {
	code int
	err  error
}

// Wait waits for the process and returns its exit code. A non-zero exit
// is no error; an error means runc could not be run or waited for.
func (p *Process) Wait() (int, error) {
	r := <-p.done
	return r.code, r.err
}

// Signal sends sig to runc, which relays it to the container's process.
func (p *Process) Signal(sig syscall.Signal) error { return syscall.Kill(p.Pid, sig) }

// Run creates and starts container id from bundle in the foreground, its
// runc log at log, and returns once runc is started. Cancelling ctx does
// not stop it: Signal does, as docker's signal proxy would.
func (r Runtime) Run(ctx context.Context, id, bundle, log string, stdio Stdio) (*Process, error) {
	return r.start(func(started chan<- int) (int, error) {
		return r.runc(log).Run(context.WithoutCancel(ctx), id, bundle, &gorunc.CreateOpts{IO: goruncIO{stdio}, Started: started})
	})
}

// Exec runs process in the running container id, in the foreground, its
// runc log at log.
func (r Runtime) Exec(ctx context.Context, id string, process specs.Process, log string, stdio Stdio) (*Process, error) {
	return r.start(func(started chan<- int) (int, error) {
		// A non-zero exit comes back as an ExitError, which start reads.
		return 0, r.runc(log).Exec(context.WithoutCancel(ctx), id, process, &gorunc.ExecOpts{IO: goruncIO{stdio}, Started: started})
	})
}

// start runs fn, which starts runc and waits for it, and returns once
// runc's PID is known. go-runc reports a non-zero exit as an ExitError:
// the Process's code, not an error.
func (r Runtime) start(fn func(started chan<- int) (int, error)) (*Process, error) {
	started := make(chan int, 1)
	p := &Process{done: make(chan result, 1)}
	go func() {
		code, err := fn(started)
		var ee *gorunc.ExitError
		if errors.As(err, &ee) {
			code, err = ee.Status, nil
		}
		p.done <- result{code, err}
	}()
	pid, ok := <-started
	if !ok || pid == 0 {
		r := <-p.done
		if r.err == nil {
			r.err = errors.New("runc exited before it started")
		}
		return nil, fmt.Errorf("start runc: %w", r.err)
	}
	p.Pid = pid
	return p, nil
}
