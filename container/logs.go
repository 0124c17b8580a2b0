package container

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
)

// A container's log keeps what it wrote to stdout and to stderr apart, so
// that `logs` gives each back on its own stream, as docker's does. Its
// frames are docker's attach stream format (an 8-byte header: the stream,
// three zero bytes, the payload's length big-endian; then the payload),
// which keeps any bytes, and which moby's stdcopy reads.
func (p Paths) logPath(id string) string { return filepath.Join(p.dir(id), "container.log") }

// logFile is a container's open log; Stream gives a writer per stream.
type logFile struct {
	mu sync.Mutex
	f  *os.File
}

func openLog(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0600)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	return &logFile{f: f}, nil
}

func (l *logFile) Close() error { return l.f.Close() }

// Stream returns a writer whose writes are framed as stream s.
func (l *logFile) Stream(s stdcopy.StdType) io.Writer { return streamWriter{l, s} }

type streamWriter struct {
	l *logFile
	s stdcopy.StdType
}

func (w streamWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	frame := make([]byte, 8+len(p))
	frame[0] = byte(w.s)
	binary.BigEndian.PutUint32(frame[4:8], uint32(len(p)))
	copy(frame[8:], p)
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	// One write a frame, on an O_APPEND file: a reader never sees two
	// frames interleaved.
	if _, err := w.l.f.Write(frame); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Logs copies a container's output to stdout and stderr, each stream to
// its own; follow keeps copying until the container stops.
func (m Manager) Logs(ctx context.Context, ref string, follow bool, stdout, stderr io.Writer) error {
	p := m.records()
	c, err := p.find(ctx, m.Runtime, ref)
	if err != nil {
		return err
	}
	f, err := os.Open(p.logPath(c.ID))
	if errors.Is(err, os.ErrNotExist) {
		return nil // ran with a terminal: its output went to it
	}
	if err != nil {
		return fmt.Errorf("read log of %s: %w", ref, err)
	}
	defer f.Close()
	var r io.Reader = f
	if follow {
		r = &followReader{ctx: ctx, f: f, alive: func() bool { return m.Runtime.Alive(ctx, c.ID) }}
	}
	if _, err := stdcopy.StdCopy(stdout, stderr, r); err != nil {
		return fmt.Errorf("read log of %s: %w", ref, err)
	}
	return nil
}

// followReader reads a log that is still being written: at its end it
// waits for more while the container lives, and ends after a last read
// once it has stopped (or ctx is done).
type followReader struct {
	ctx   context.Context
	f     *os.File
	alive func() bool
	last  bool
}

func (r *followReader) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 || !errors.Is(err, io.EOF) || r.last {
			return n, err
		}
		if !r.alive() {
			r.last = true // what it wrote before it stopped is read next
			continue
		}
		select {
		case <-r.ctx.Done():
			return 0, io.EOF
		case <-time.After(100 * time.Millisecond):
		}
	}
}
