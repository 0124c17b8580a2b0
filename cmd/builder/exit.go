package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

// reportError prints err as docker does and returns the exit status: the
// one place where errors become exit codes. Run, exec and start follow
// docker's contract (container.ExitError): the container process's own
// code when it ran; 125 when builder failed before it could run it (every
// error of run's own), 126 when the command cannot be invoked, 127 when it
// cannot be found; and 1, as docker's daemon errors give, for any other
// failure (no such container, not running), as for every other verb.
func reportError(err error) int {
	if errors.Is(err, syscall.EPIPE) {
		return 128 + int(syscall.SIGPIPE) // quietly, as a process killed by SIGPIPE
	}
	var ee *container.ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(os.Stderr, "Error:", ee.Err)
		}
		return ee.Code
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
