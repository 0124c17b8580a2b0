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
// closed): the first Ctrl-C then ends a command that reads too. A regular
// file never blocks, and is r itself. Otherwise one goroutine reads ahead
// into two recycled buffers; when ctx ends first, its blocked read is left
// behind, to end with the process.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return r
		}
	}
	return &ctxReader{ctx: ctx, r: r}
}

// readAhead is what the reading goroutine reads at once.
const readAhead = 256 << 10

type chunk struct {
	b   []byte
	err error
}

type ctxReader struct {
	ctx     context.Context
	r       io.Reader
	once    sync.Once
	full    chan chunk  // read, to be given out
	free    chan []byte // given out, to be read into again
	cur     chunk
	pending []byte // what is left of cur.b
}

func (c *ctxReader) start() {
	c.full = make(chan chunk, 1)
	c.free = make(chan []byte, 2)
	c.free <- make([]byte, readAhead)
	c.free <- make([]byte, readAhead)
	go func() {
		for {
			var b []byte
			select {
			case b = <-c.free:
			case <-c.ctx.Done():
				return
			}
			n, err := c.r.Read(b)
			select {
			case c.full <- chunk{b[:n], err}:
			case <-c.ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
}

func (c *ctxReader) Read(p []byte) (int, error) {
	c.once.Do(c.start)
	for len(c.pending) == 0 {
		if c.cur.err != nil {
			return 0, c.cur.err
		}
		if c.cur.b != nil {
			c.free <- c.cur.b[:cap(c.cur.b)]
			c.cur.b = nil
		}
		select {
		case c.cur = <-c.full:
			c.pending = c.cur.b
		case <-c.ctx.Done():
			return 0, context.Cause(c.ctx)
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}
