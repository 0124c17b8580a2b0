package container

import (
	"errors"
	"fmt"
)

// Docker's exit statuses for run, exec and start when the container's
// process did not run, beside the process's own.
const (
	ExitBuilderError = 125 // the run itself failed
	ExitNotRunnable  = 126 // the command cannot be invoked
	ExitNotFound     = 127 // the command cannot be found
)

// ExitError is how run, exec and start report any end but success and a
// refused request (a plain error, which is docker's exit 1): the process's
// own non-zero code with Err nil, or 125, 126 or 127 with why (nil when
// runc has already said it on stderr). cmd/builder turns it into the exit
// status.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// RunFailed is a failure of run before its process ran: docker run gives
// 125 for every error of its own. An *ExitError already is one.
func RunFailed(err error) error {
	if err == nil || errors.As(err, new(*ExitError)) {
		return err
	}
	return &ExitError{Code: ExitBuilderError, Err: err}
}

// exited is a verb's result for a process that ended with code, or err.
func exited(code int, err error) error {
	switch {
	case err != nil:
		return err
	case code != 0:
		return &ExitError{Code: code}
	}
	return nil
}
