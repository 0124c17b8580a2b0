package frontend

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// maxDockerfileSize is what BuildKit's Dockerfile frontend reads of a
// Dockerfile at most: its gateway's ReadFile is capped at containerd's
// gRPC message size (defaults.DefaultMaxSendMsgSize, 16 MiB), and a larger
// one fails there after the whole context was sent. builder reads the file
// itself first (for its `# syntax=` decision), and stops at the same size.
const maxDockerfileSize = 16 << 20

// readDockerfileAt reads the Dockerfile at path: a regular file (a device
// or a FIFO would be read without end, or block), of at most
// maxDockerfileSize bytes, or an error naming it.
func readDockerfileAt(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("unable to prepare context: Dockerfile %s not found (-f names another)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("unable to prepare context: Dockerfile %s is not a regular file (%s); -f takes a file, or - for stdin", path, kind(fi.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	defer f.Close()
	dt, err := readDockerfile(f)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile %s: %w", path, err)
	}
	return dt, nil
}

// readDockerfile reads a whole Dockerfile from r, refusing one larger than
// maxDockerfileSize. Where r may never end (stdin), the caller gives an
// interrupt.Reader.
func readDockerfile(r io.Reader) ([]byte, error) {
	dt, err := io.ReadAll(io.LimitReader(r, maxDockerfileSize+1))
	if err != nil {
		return nil, err
	}
	if len(dt) > maxDockerfileSize {
		return nil, fmt.Errorf("larger than %d MiB, the most BuildKit's Dockerfile frontend reads", maxDockerfileSize>>20)
	}
	return dt, nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}
