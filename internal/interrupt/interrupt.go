// Package interrupt turns SIGINT and SIGTERM into a cancelled context, as
// docker's CLI does: the first asks the command to stop cleanly, a second
// leaves at once.
package interrupt

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Notify returns a copy of parent that the first SIGINT or SIGTERM
// cancels, or cancel. A second signal ends the process (by that signal, as
// if never caught); cancel is not a signal, and stop ends the handling.
//
// cancel is how the docker CLI asks its plugin to stop, by closing the
// plugin socket. A Ctrl-C sent to the process group reaches builder both
// as its own SIGINT and as that socket closing, in either order: had the
// socket's cancel counted as the first interrupt, the SIGINT right behind
// it would kill builder before it unmounts what its running step mounted.
func Notify(parent context.Context) (ctx context.Context, cancel context.CancelFunc, stop func()) {
	ctx, cancelCtx := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancelCtx()
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			signal.Reset(sig)
			syscall.Kill(os.Getpid(), sig.(syscall.Signal))
			// Reset restores the disposition the process started with:
			// one started with the signal ignored (a script's background
			// job) is still here. It leaves all the same.
			time.Sleep(100 * time.Millisecond)
			os.Exit(128 + int(sig.(syscall.Signal)))
		case <-done:
		}
	}()
	return ctx, cancelCtx, sync.OnceFunc(func() {
		signal.Stop(sigs)
		close(done)
		cancelCtx()
	})
}

// Reader returns a reader of r whose Read returns as soon as ctx is done,
// even when the read underneath blocks (a terminal, a pipe that is never
// closed): the first Ctrl-C then ends a command that reads too. The
// blocked read is left behind, to end with the process.
func Reader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	buf := make([]byte, len(p))
	go func() {
		n, err := c.r.Read(buf)
		done <- result{n, err}
	}()
	select {
	case res := <-done:
		copy(p, buf[:res.n])
		return res.n, res.err
	case <-c.ctx.Done():
		return 0, context.Cause(c.ctx)
	}
}
