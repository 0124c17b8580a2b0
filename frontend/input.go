package frontend

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/internal/interrupt"
	"github.com/moby/buildkit/session/upload/uploadprovider"
	"github.com/moby/buildkit/util/archiveutil"
)

// input is a build's first stage: where its context and its Dockerfile
// come from, found and read.
type input struct {
	// contextDir is the local context, or "" when the solver fetches
	// contextURL (a git or HTTP URL, or stdin's archive through upload).
	contextDir, contextURL  string
	upload                  *uploadprovider.Uploader
	dockerfileDir, filename string
	// dockerfile is nil when it is read from a remote context.
	dockerfile []byte
	// cleanup removes what reading made (stdin's Dockerfile's directory).
	cleanup func()
}

// readInput finds o's context and reads its Dockerfile. On error nothing
// is left to clean up.
func readInput(ctx context.Context, o BuildOptions) (_ *input, err error) {
	in := &input{cleanup: func() {}}
	defer func() {
		if err != nil {
			in.cleanup()
		}
	}()
	if o.ContextDir == "-" && o.Dockerfile == "-" {
		return nil, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
	}
	stdinDockerfile, err := in.findContext(ctx, o)
	if err != nil {
		return nil, err
	}
	if o.Dockerfile == "-" {
		if stdinDockerfile, err = readDockerfile(interrupt.Reader(ctx, o.Stdin)); err != nil {
			return nil, fmt.Errorf("read Dockerfile from stdin: %w", err)
		}
	}
	switch {
	case stdinDockerfile != nil:
		err = in.stdinDockerfile(stdinDockerfile, o.ContextDir == "-")
	case in.contextURL != "":
		// -f names a file inside a context the solver fetches, as docker
		// reads it for a git or tarball context.
		in.filename = o.Dockerfile
		if in.filename == "" {
			in.filename = "Dockerfile"
		}
	default:
		path := o.Dockerfile
		if path == "" {
			path = filepath.Join(in.contextDir, "Dockerfile")
		}
		path, _ = filepath.Abs(path)
		in.dockerfileDir, in.filename = filepath.Dir(path), filepath.Base(path)
		in.dockerfile, err = readDockerfileAt(path)
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

// findContext sets where the context comes from: a directory, a URL the
// solver fetches, or stdin, which holds an archive (uploaded) or a
// Dockerfile (returned).
func (in *input) findContext(ctx context.Context, o BuildOptions) (stdinDockerfile []byte, err error) {
	switch {
	case o.ContextDir == "-":
		archive, dt, err := stdinContext(ctx, o.Stdin)
		if err != nil {
			return nil, err
		}
		if archive == nil {
			return dt, nil
		}
		in.upload = uploadprovider.New()
		in.contextURL = in.upload.Add(archive)
	case isRemote(o.ContextDir):
		in.contextURL = o.ContextDir
	default:
		fi, err := os.Stat(o.ContextDir)
		if err != nil {
			return nil, fmt.Errorf("unable to prepare context: path %q not found", o.ContextDir)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("unable to prepare context: context must be a directory: %s", o.ContextDir)
		}
		in.contextDir, _ = filepath.Abs(o.ContextDir)
	}
	return nil, nil
}

// stdinDockerfile writes a Dockerfile read from stdin to a directory of
// its own, sent as the Dockerfile's; with `build -` the context is that
// (otherwise empty) directory.
func (in *input) stdinDockerfile(dt []byte, emptyContext bool) error {
	dir, err := os.MkdirTemp("", "builder-dockerfile-")
	if err != nil {
		return err
	}
	in.cleanup = func() { os.RemoveAll(dir) }
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dt, 0600); err != nil {
		return err
	}
	in.dockerfileDir, in.filename, in.dockerfile = dir, "Dockerfile", dt
	if emptyContext {
		empty := filepath.Join(dir, "context")
		if err := os.Mkdir(empty, 0700); err != nil {
			return err
		}
		in.contextDir = empty
	}
	return nil
}

// isRemote reports whether a build context is fetched by the solver (a git
// repository or an HTTP(S) tarball or Dockerfile) rather than sent from
// here; BuildKit's Dockerfile frontend tells git from HTTP itself.
func isRemote(s string) bool {
	for _, p := range []string{"http://", "https://", "git://", "git@", "ssh://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// stdinContext reads `builder build -`: a tar archive (plain or
// compressed) is the context, served to the solver through the session as
// buildx does; anything else is a Dockerfile with an empty context, as
// `docker build - < Dockerfile` has.
func stdinContext(ctx context.Context, stdin io.Reader) (archive io.ReadCloser, dockerfile []byte, err error) {
	br := bufio.NewReaderSize(interrupt.Reader(ctx, stdin), 64<<10)
	head, err := br.Peek(1024)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, nil, fmt.Errorf("read context from stdin: %w", err)
	}
	if len(head) == 0 {
		return nil, nil, fmt.Errorf("read context from stdin: nothing on stdin (want a tar archive or a Dockerfile)")
	}
	if archiveutil.IsArchive(head) {
		return io.NopCloser(br), nil, nil
	}
	dt, err := readDockerfile(br) // br gives way to ctx already
	if err != nil {
		return nil, nil, fmt.Errorf("read Dockerfile from stdin: %w", err)
	}
	return nil, dt, nil
}

// localDirs are the build's local directories, by the names the
// Dockerfile frontend asks the session for: the context and the
// Dockerfile's directory.
func (in *input) localDirs() map[string]string {
	dirs := map[string]string{}
	if in.contextDir != "" {
		dirs["context"] = in.contextDir
	}
	if in.dockerfileDir != "" {
		dirs["dockerfile"] = in.dockerfileDir
	}
	return dirs
}

// sharedKey is the session's part of the key under which the solver
// keeps its copy of a local context, synced from build to build: buildx's
// rule, the context directory's base name, so that builds of two projects
// in turn each find their own copy instead of replacing one.
func (in *input) sharedKey() string {
	if in.contextDir == "" {
		return ""
	}
	return filepath.Base(in.contextDir)
}
