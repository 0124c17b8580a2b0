package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

// exitError carries a process exit code other than 1 (docker's 125/126/127,
// or a container's own status).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func reportError(err error) int {
	if errors.Is(err, syscall.EPIPE) {
		return 128 + int(syscall.SIGPIPE) // quietly, as a process killed by SIGPIPE
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "Error:", ee.err)
		}
		return ee.code
	}
	var ce cli.ExitCoder
	if errors.As(err, &ce) {
		if msg := ce.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, msg)
		}
		return ce.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "Error:", err)
	return 1
}

// containerExit is the exit-code contract of run, exec and start, docker's:
// the container process's own code when it ran; 125 when builder failed
// before it could run it, 126 when the command cannot be invoked and 127
// when it cannot be found (a *container.Error carries these); and 1, as
// docker's daemon errors give, for any other failure (no such container,
// not running).
func containerExit(code int, err error) error {
	var ce *container.Error
	switch {
	case errors.As(err, &ce):
		return &exitError{code: ce.Code, err: ce.Err}
	case err != nil:
		return err
	case code != 0:
		return &exitError{code: code}
	}
	return nil
}
