package frontend

import (
	"context"
	"io"
	"runtime/trace"

	"github.com/builder-dev/builder/cache"
	"github.com/builder-dev/builder/solver"
	"github.com/builder-dev/builder/store"
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BuildOptions are `builder build`'s flags and arguments.
type BuildOptions struct {
	// ContextDir is a directory, "-" (a tar archive or a Dockerfile on
	// Stdin), or a git or HTTP(S) URL the solver fetches.
	ContextDir string
	// Dockerfile is a path (relative to the working directory, as docker
	// resolves -f), "" for ContextDir/Dockerfile, or "-" for Stdin.
	Dockerfile string
	Stdin      io.Reader
	Tags       []string
	BuildArgs  []string
	Labels     []string
	Target     string
	Platform   string
	NoCache    bool
	// NoCacheFilter are --no-cache-filter's stages.
	NoCacheFilter []string
	Pull          bool
	Network       string
	// Steps are the flags for RUN's containers (--add-host, --shm-size,
	// --ulimit, --cgroup-parent).
	Steps   StepOptions
	Secrets []string
	SSH     []string
	Outputs []string
	Push    bool
	// Annotations are --annotation values, buildx's syntax, added to every
	// output that writes an image.
	Annotations []string
	// Attest are --provenance, --attest and --sbom.
	Attest AttestOptions
	// BuildContexts are --build-context NAME=VALUE values.
	BuildContexts []string
	// CacheTo and CacheFrom are --cache-to and --cache-from values.
	CacheTo      []string
	CacheFrom    []string
	IIDFile      string
	MetadataFile string
	Quiet        bool
	Progress     string
	// DumpLLB ("json" or "dot") prints the build's LLB graph instead of
	// building: the Dockerfile is read and translated, no step runs.
	DumpLLB string
}

// BuildEnv is where a build runs and reports.
type BuildEnv struct {
	// OpenSolver is called once the input has been checked, so bad input
	// fails fast without starting (or waiting for) a solver.
	OpenSolver func(context.Context) (*solver.Solver, error)
	Store      *store.Store
	Stdout     io.Writer
	Stderr     io.Writer
	// CheckCache, when set, checks each --cache-to and --cache-from entry
	// before the build starts: that the solver has its backend, that its
	// registry answers. (The embedded solver shares this machine's
	// network; a remote buildkitd reports on its own.)
	CheckCache func(context.Context, cache.Direction, client.CacheOptionsEntry) error
}

// BuildResult is what a successful build made.
type BuildResult struct {
	// ImageID is the config digest, docker's image ID ("" for outputs
	// that make no image, such as type=local).
	ImageID string
	Target  *ocispec.Descriptor
}

// Build runs `builder build` as o describes it, in env: a Dockerfile and
// its context, through BuildKit's Dockerfile frontend on a solver, into
// the local image store or the outputs -o names. Its stages, each in the
// file of its name, take what the one before made:
//
//	input   the context and the Dockerfile, found and read
//	plan    the flags parsed and checked: names, outputs, caches, attributes
//	solve   the solver opened, the session, the frontend run, progress
//	record  the exports committed, the image named, the files written
//
// Bad input fails in the first two, before a solver is opened.
func Build(ctx context.Context, env BuildEnv, o BuildOptions) (*BuildResult, error) {
	// The trace regions name the phases bench/README.md's account of a
	// build's wall time is made of (BUILDER_TRACE).
	region := trace.StartRegion(ctx, "build: prepare")
	in, err := readInput(ctx, o)
	if err != nil {
		return nil, err
	}
	defer in.cleanup()
	pl, err := makePlan(o, in)
	if err != nil {
		return nil, err
	}
	region.End()
	s, err := solve(ctx, env, o, in, pl)
	if err != nil {
		return nil, err
	}
	defer s.release()
	return record(ctx, env, o, pl, s)
}
