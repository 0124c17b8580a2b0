package container

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/builder-dev/builder/internal/runtime"
	"github.com/containerd/console"
	"github.com/moby/moby/api/pkg/stdcopy"
)

// runRunc runs c's process with runc until it exits, forwarding a
// cancellation as SIGTERM, then SIGKILL after 10 s, and returns its exit
// code; 125, 126 or 127 with an *ExitError when it did not run.
func runRunc(ctx context.Context, rt runtime.Runtime, p records, c *Container, o RunOptions) (int, error) {
	dir := p.dir(c.ID)
	logPath := filepath.Join(dir, "runc.log")
	stdio, done, err := runcStdio(p, c, o)
	if err != nil {
		return ExitBuilderError, &ExitError{ExitBuilderError, err}
	}
	proc, err := rt.Run(ctx, c.ID, dir, logPath, stdio)
	if stdio.Setsid {
		// runc holds the terminal now; with this copy closed, the copy
		// of its output ends when runc exits.
		stdio.Stdin.(io.Closer).Close()
	}
	if err != nil {
		done(false)
		return ExitBuilderError, &ExitError{ExitBuilderError, err}
	}
	defer done(true)
	code, err := wait(ctx, proc)
	if err != nil {
		return ExitBuilderError, &ExitError{ExitBuilderError, fmt.Errorf("run runc: %w", err)}
	}
	if code == 0 {
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
		return code, &ExitError{code, nil}
	}
	return code, nil
}

// runcStdio is where c's process reads and writes. done closes what was
// opened, once runc has exited (ran) or failed to start.
func runcStdio(p records, c *Container, o RunOptions) (_ runtime.Stdio, done func(ran bool), err error) {
	// With a terminal (spec.Process.Terminal), runc in the foreground makes
	// the pseudo-terminal itself, puts ours in raw mode, copies both ways
	// and forwards window-size changes: it is handed our terminal as is.
	stdio := runtime.Stdio{Stdout: o.Stdout, Stderr: o.Stderr}
	if o.Interactive || o.TTY {
		stdio.Stdin = o.Stdin
	}
	switch {
	case !o.Detach && !o.TTY:
		// docker keeps a foreground container's output for `logs` too. (With
		// -t, runc copies the terminal itself and nothing can be kept.)
		log, err := openLog(p.logPath(c.ID))
		if err != nil {
			return stdio, nil, err
		}
		stdio.Stdout = io.MultiWriter(o.Stdout, log.Stream(stdcopy.Stdout))
		stdio.Stderr = io.MultiWriter(o.Stderr, log.Stream(stdcopy.Stderr))
		return stdio, func(bool) { log.Close() }, nil
	case o.TTY && o.Detach:
		// A detached monitor has no terminal to hand runc (runc opens
		// /dev/tty). It gives runc one of its own and copies what the
		// container writes to it into the log, as docker does for -dt.
		pty, slavePath, err := console.NewPty()
		if err != nil {
			return stdio, nil, fmt.Errorf("allocate a terminal: %w", err)
		}
		pty.Resize(console.WinSize{Height: 24, Width: 80})
		slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			pty.Close()
			return stdio, nil, fmt.Errorf("open terminal %s: %w", slavePath, err)
		}
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			io.Copy(o.Stdout, pty) // ends with EIO once runc, the last holder of the slave, exits
		}()
		return runtime.Stdio{Stdin: slave, Stdout: slave, Stderr: slave, Setsid: true}, func(ran bool) {
			if ran {
				<-copied
			}
			pty.Close()
		}, nil
	}
	return stdio, func(bool) {}, nil
}

// wait waits for runc's exit, relaying a cancellation to the container as
// docker's signal proxy does: SIGTERM, then SIGKILL after 10 s.
func wait(ctx context.Context, proc *runtime.Process) (int, error) {
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
		proc.Signal(syscall.SIGTERM)
		select {
		case e = <-done:
		case <-time.After(10 * time.Second):
			proc.Signal(syscall.SIGKILL)
			e = <-done
		}
	}
	return e.code, e.err
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
