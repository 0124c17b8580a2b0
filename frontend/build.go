package frontend

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/internal/interrupt"
	"github.com/builder-dev/builder/internal/userperm"
	"github.com/containerd/platforms"

	"github.com/builder-dev/builder/cache"
	"github.com/builder-dev/builder/exporter"
	"github.com/builder-dev/builder/llb"
	"github.com/builder-dev/builder/progress"
	"github.com/builder-dev/builder/solver"
	"github.com/builder-dev/builder/solver/localsource"
	"github.com/builder-dev/builder/store"
	"github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/client"
	bkllb "github.com/moby/buildkit/client/llb"
	buildctl "github.com/moby/buildkit/cmd/buildctl/build"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/session/upload/uploadprovider"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/archutil"
	"github.com/moby/buildkit/util/entitlements"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
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

type prepared struct {
	// contextDir is the local context, or "" when the solver fetches
	// contextURL (a git or HTTP URL, or stdin's archive through upload).
	contextDir, contextURL  string
	upload                  *uploadprovider.Uploader
	dockerfileDir, filename string
	// dockerfile is nil when it is read from a remote context.
	dockerfile         []byte
	tags               []string
	specs              []exporter.Spec
	attrs              map[string]string
	cacheTo, cacheFrom []client.CacheOptionsEntry
}

func (o *BuildOptions) prepare(ctx context.Context) (_ *prepared, cleanup func(), err error) {
	p := &prepared{}
	cleanup = func() {}
	// On error the caller gets nothing to clean up: it is done here.
	defer func() {
		if err != nil {
			cleanup()
			cleanup = func() {}
		}
	}()
	if o.ContextDir == "-" && o.Dockerfile == "-" {
		return nil, cleanup, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
	}
	var stdinDockerfile []byte
	switch {
	case o.ContextDir == "-":
		archive, dt, err := stdinContext(ctx, o.Stdin)
		if err != nil {
			return nil, cleanup, err
		}
		if archive != nil {
			p.upload, p.contextURL = uploadContext(archive)
		} else {
			stdinDockerfile = dt
		}
	case isRemote(o.ContextDir):
		p.contextURL = o.ContextDir
	default:
		fi, err := os.Stat(o.ContextDir)
		if err != nil {
			return nil, cleanup, fmt.Errorf("unable to prepare context: path %q not found", o.ContextDir)
		}
		if !fi.IsDir() {
			return nil, cleanup, fmt.Errorf("unable to prepare context: context must be a directory: %s", o.ContextDir)
		}
		p.contextDir, _ = filepath.Abs(o.ContextDir)
	}
	for flag, path := range map[string]string{"--iidfile": o.IIDFile, "--metadata-file": o.MetadataFile} {
		if path != "" {
			if err := userperm.WriteFile(path); err != nil {
				return nil, cleanup, fmt.Errorf("%s: %w", flag, err)
			}
		}
	}
	if o.Dockerfile == "-" {
		dt, err := readDockerfile(interrupt.Reader(ctx, o.Stdin))
		if err != nil {
			return nil, cleanup, fmt.Errorf("read Dockerfile from stdin: %w", err)
		}
		stdinDockerfile = dt
	}
	switch {
	case stdinDockerfile != nil:
		// Written to a directory of its own and sent as the Dockerfile;
		// with `build -` the context is that (otherwise empty) directory.
		dir, err := os.MkdirTemp("", "builder-dockerfile-")
		if err != nil {
			return nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), stdinDockerfile, 0600); err != nil {
			return nil, cleanup, err
		}
		p.dockerfileDir, p.filename, p.dockerfile = dir, "Dockerfile", stdinDockerfile
		if o.ContextDir == "-" {
			empty := filepath.Join(dir, "context")
			if err := os.Mkdir(empty, 0700); err != nil {
				return nil, cleanup, err
			}
			p.contextDir = empty
		}
	case p.contextURL != "":
		// -f names a file inside a context the solver fetches, as docker
		// reads it for a git or tarball context.
		p.filename = o.Dockerfile
		if p.filename == "" {
			p.filename = "Dockerfile"
		}
	default:
		path := o.Dockerfile
		if path == "" {
			path = filepath.Join(p.contextDir, "Dockerfile")
		}
		path, _ = filepath.Abs(path)
		dt, err := readDockerfileAt(path)
		if err != nil {
			return nil, cleanup, err
		}
		p.dockerfileDir, p.filename, p.dockerfile = filepath.Dir(path), filepath.Base(path), dt
	}
	for _, t := range o.Tags {
		name, err := store.ParseName(t)
		if err != nil {
			return nil, cleanup, fmt.Errorf("-t: %w", err)
		}
		p.tags = append(p.tags, name)
	}
	switch o.DumpLLB {
	case "", "json", "dot":
	default:
		return nil, cleanup, fmt.Errorf("--dump-llb %q: want json or dot", o.DumpLLB)
	}
	if o.DumpLLB != "" && (len(o.Outputs) > 0 || o.Push) {
		return nil, cleanup, errors.New("--dump-llb builds nothing: it cannot be combined with -o or --push")
	}
	for _, s := range o.Outputs {
		sp, err := exporter.Parse(s)
		if err != nil {
			return nil, cleanup, err
		}
		p.specs = append(p.specs, sp)
	}
	if p.cacheTo, err = cache.ParseOptions(cache.To, o.CacheTo); err != nil {
		return nil, cleanup, err
	}
	if p.cacheFrom, err = cache.ParseOptions(cache.From, o.CacheFrom); err != nil {
		return nil, cleanup, err
	}
	args, err := keyValues("--build-arg", o.BuildArgs, true)
	if err != nil {
		return nil, cleanup, err
	}
	if _, ok := args["SOURCE_DATE_EPOCH"]; !ok {
		// Read from the environment as buildx does, for reproducible builds.
		if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok && v != "" {
			args["SOURCE_DATE_EPOCH"] = v
		}
	}
	if v, ok := args["SOURCE_DATE_EPOCH"]; ok {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return nil, cleanup, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since the epoch", v)
		}
	}
	labels, err := keyValues("--label", o.Labels, false)
	if err != nil {
		return nil, cleanup, err
	}
	p.attrs, err = Attrs(p.dockerfile, AttrOptions{Filename: p.filename, Target: o.Target, Platform: o.Platform,
		BuildArgs: args, Labels: labels, NoCache: o.NoCache, NoCacheFilter: o.NoCacheFilter, Pull: o.Pull, Network: o.Network,
		Steps: o.Steps})
	if err != nil {
		return nil, cleanup, err
	}
	attests, err := attestAttrs(o.Attest, exporter.Published(p.specs, o.Push))
	if err != nil {
		return nil, cleanup, err
	}
	for k, v := range attests {
		p.attrs[k] = v
	}
	if p.contextURL != "" {
		p.attrs["context"] = p.contextURL
		if p.dockerfileDir != "" {
			// The Dockerfile comes from here, not from the fetched context.
			p.attrs["dockerfilekey"] = "dockerfile"
		}
	}
	if _, err := progress.Mode(o.Progress); err != nil {
		return nil, cleanup, err
	}
	return p, cleanup, nil
}

// keyValues parses K=V flags. A bare K takes its value from the environment
// where fromEnv is set (docker's --build-arg behaviour) and is skipped when
// the environment has none.
func keyValues(flag string, in []string, fromEnv bool) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, s)
		}
		if !ok {
			if !fromEnv {
				out[k] = ""
				continue
			}
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		out[k] = v
	}
	return out, nil
}

// Build runs `builder build` as o describes it, in env: a Dockerfile and
// its context, through BuildKit's Dockerfile frontend on a solver, into
// the local image store or the outputs -o names.
func Build(ctx context.Context, env BuildEnv, o BuildOptions) (*BuildResult, error) {
	// The trace regions name the phases bench/README.md's account of a
	// build's wall time is made of (BUILDER_TRACE).
	region := trace.StartRegion(ctx, "build: prepare")
	p, cleanup, err := o.prepare(ctx)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	// The cache registries are checked while the solver opens (a round
	// trip each, a few ms against the ten the solver takes), and the check
	// is waited for before the solve: a bad cache still fails the build
	// before anything is built, and its error comes before any other.
	checked := func() error { return nil }
	if env.CheckCache != nil && o.DumpLLB == "" {
		cerr := make(chan error, 1)
		go func() { cerr <- checkCache(ctx, env.CheckCache, p) }()
		checked = sync.OnceValue(func() error { return <-cerr })
	}
	fail := func(err error) (*BuildResult, error) {
		if cerr := checked(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	plan := &exporter.Plan{}
	if o.DumpLLB == "" {
		plan, err = exporter.NewPlan(p.specs, p.tags, o.Push, env.Store.Content(), env.Stdout, strings.Contains(p.attrs["platform"], ","))
		if err != nil {
			return fail(err)
		}
	}
	// Blobs the build exports reach the store before the index names them,
	// and stored images may be its bases: keep garbage collection off them.
	writing, err := env.Store.Writing(ctx)
	if err != nil {
		return fail(err)
	}
	defer writing()
	region.End()
	region = trace.StartRegion(ctx, "build: open solver")
	slv, err := env.OpenSolver(ctx)
	if err != nil {
		return fail(err)
	}
	defer func() {
		defer trace.StartRegion(ctx, "build: close solver").End()
		slv.Close()
	}()
	region.End()
	if err := checked(); err != nil {
		return nil, err
	}
	imgs, err := env.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	named, err := parseBuildContexts(o.BuildContexts, imgs, o.Pull)
	if err != nil {
		return nil, err
	}
	opt, err := solveOpt(p, o, env.Store, plan.Entries, named)
	if err != nil {
		return nil, err
	}
	var bases map[string]store.Image
	if !o.Pull {
		bases = StoreBases(imgs)
		for name, img := range bases {
			k := "context:" + name
			if _, ok := opt.FrontendAttrs[k]; ok { // --build-context wins
				delete(bases, name)
				continue
			}
			opt.FrontendAttrs[k] = storeContext(img.Target.Digest)
		}
	}

	if slv.Local != nil {
		// The solver runs in this process: the build's session is made
		// here, so that the solver knows its directories and can check
		// them for changes itself (solver/localsource).
		s, err := session.NewSession(ctx, opt.SharedKey)
		if err != nil {
			return nil, fmt.Errorf("create session: %w", err)
		}
		opt.SharedSession = s
		defer slv.Local.Add(s.ID(), p.localDirs())()
	}

	mode, _ := progress.Mode(o.Progress)
	if o.Quiet {
		mode = "quiet"
	}
	ch := make(chan *client.SolveStatus)
	region = trace.StartRegion(ctx, "build: solve and export")
	eg, egCtx := errgroup.WithContext(ctx)
	var resp *client.SolveResponse
	eg.Go(func() error {
		var err error
		// The frontend runs here, client-side, and drives the solver over
		// the gateway API: the same code serves a remote buildkitd.
		build := frontendFunc(bases, p.dockerfile)
		if o.DumpLLB != "" {
			build = dumpLLB(build, o.DumpLLB, env.Stdout)
		}
		resp, err = slv.Client.Build(egCtx, opt, "", build, ch)
		return err
	})
	eg.Go(func() error {
		// Progress is drawn until the channel closes, even when ctx is
		// cancelled, so the last lines (and errors) are shown.
		return progress.Display(context.WithoutCancel(egCtx), mode, env.Stderr, ch)
	})
	if err := eg.Wait(); err != nil {
		plan.Abort()
		// The Dockerfile lines an error comes from, as buildx shows them:
		// "Dockerfile:3", a snippet, ">>>" on the culprit.
		for _, src := range errdefs.Sources(err) {
			src.Print(env.Stderr)
		}
		return nil, noEmulator(err, o.Platform)
	}
	region.End()
	defer trace.StartRegion(ctx, "build: store").End()
	if err := plan.Commit(ctx); err != nil {
		return nil, err
	}
	var stored *ocispec.Descriptor
	if plan.Store && resp != nil {
		// The response names the last exporter's image: with --push, the
		// pushed one, which the store does not hold.
		target, err := plan.StoreTarget(ctx)
		if err != nil {
			return nil, err
		}
		stored = &target
	}
	res, err := result(ctx, resp, env.Store, stored)
	if err != nil {
		return nil, err
	}
	if stored != nil {
		if err := record(ctx, env.Store, p.tags, *stored); err != nil {
			return nil, err
		}
	}
	var provenance json.RawMessage
	if _, ok := p.attrs["attest:provenance"]; ok && plan.Store && res.Target != nil && o.MetadataFile != "" {
		if provenance, err = storedProvenance(ctx, env.Store, *res.Target); err != nil {
			return nil, fmt.Errorf("--metadata-file: read provenance: %w", err)
		}
	}
	if err := WriteFiles(o, res, resp, opt.Ref, provenance); err != nil {
		return nil, err
	}
	if o.Quiet && res.ImageID != "" {
		fmt.Fprintln(env.Stdout, res.ImageID)
	}
	return res, nil
}

func solveOpt(p *prepared, o BuildOptions, st *store.Store, exports []client.ExportEntry, named *namedContexts) (client.SolveOpt, error) {
	mounts := map[string]fsutil.FS{}
	for k, fs := range named.locals {
		mounts[k] = fs
	}
	for name, dir := range p.localDirs() {
		fs, err := localsource.NewFS(dir) // fsutil's, walked faster
		if err != nil {
			what := "build context"
			if name == "dockerfile" {
				what = "Dockerfile directory"
			}
			return client.SolveOpt{}, fmt.Errorf("open %s %s: %w", what, dir, err)
		}
		mounts[name] = fs
	}
	stores, err := openLayouts(named.layouts)
	if err != nil {
		return client.SolveOpt{}, err
	}
	stores[StoreName] = st.Content()
	attrs := map[string]string{}
	for k, v := range p.attrs {
		attrs[k] = v
	}
	for k, v := range named.attrs {
		attrs[k] = v
	}
	attachables := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(config.LoadDefaultConfigFile(io.Discard)),
	})}
	if p.upload != nil {
		attachables = append(attachables, p.upload)
	}
	if len(o.Secrets) > 0 {
		a, err := buildctl.ParseSecret(o.Secrets)
		if err != nil {
			return client.SolveOpt{}, fmt.Errorf("--secret: %w", err)
		}
		attachables = append(attachables, a)
	}
	if len(o.SSH) > 0 {
		cfgs, err := buildctl.ParseSSH(o.SSH)
		if err != nil {
			return client.SolveOpt{}, fmt.Errorf("--ssh: %w", err)
		}
		a, err := sshprovider.NewSSHAgentProvider(cfgs)
		if err != nil {
			return client.SolveOpt{}, fmt.Errorf("--ssh: %w", err)
		}
		attachables = append(attachables, a)
	}
	opt := client.SolveOpt{
		Ref:           identity.NewID(),
		SharedKey:     sharedKey(p.contextDir),
		CacheExports:  p.cacheTo,
		CacheImports:  p.cacheFrom,
		FrontendAttrs: attrs,
		LocalMounts:   mounts,
		Exports:       exports,
		Session:       attachables,
		OCIStores:     stores,
	}
	if o.Network == "host" {
		opt.AllowedEntitlements = []string{string(entitlements.EntitlementNetworkHost)}
	}
	return opt, nil
}

// localDirs are the build's local directories, by the names the
// Dockerfile frontend asks the session for: the context and the
// Dockerfile's directory.
func (p *prepared) localDirs() map[string]string {
	dirs := map[string]string{}
	if p.contextDir != "" {
		dirs["context"] = p.contextDir
	}
	if p.dockerfileDir != "" {
		dirs["dockerfile"] = p.dockerfileDir
	}
	return dirs
}

// sharedKey is the session's part of the key under which the solver
// keeps its copy of a local context, synced from build to build: buildx's
// rule, the context directory's base name, so that builds of two projects
// in turn each find their own copy instead of replacing one.
func sharedKey(contextDir string) string {
	if contextDir == "" {
		return ""
	}
	return filepath.Base(contextDir)
}

// noEmulator explains a step that could not execute because a platform
// asked for has no emulator on this machine, and how to get one.
func noEmulator(err error, platformFlag string) error {
	// The kernel's "exec format error" is only in the step's output; the
	// error says a RUN process failed.
	if platformFlag == "" || !strings.Contains(err.Error(), "did not complete successfully") {
		return err
	}
	ps, perr := ParsePlatforms(platformFlag)
	if perr != nil {
		return err
	}
	runnable := platforms.Any(archutil.SupportedPlatforms(true)...)
	for _, s := range ps {
		if p, _ := platforms.Parse(s); !runnable.Match(p) {
			return fmt.Errorf("%w\n\nthis machine cannot run %s programs, so RUN in a %s stage fails: install an emulator (Debian: apt-get install qemu-user-static; it registers its interpreters with binfmt_misc, with the F flag, which containers need) or build that stage with FROM --platform=$BUILDPLATFORM", err, s, s)
		}
	}
	return err
}

// checkCache runs check on every cache entry before anything is built.
func checkCache(ctx context.Context, check func(context.Context, cache.Direction, client.CacheOptionsEntry) error, p *prepared) error {
	for _, e := range p.cacheTo {
		if err := check(ctx, cache.To, e); err != nil {
			return err
		}
	}
	for _, e := range p.cacheFrom {
		if err := check(ctx, cache.From, e); err != nil {
			return err
		}
	}
	return nil
}

// result reads the image the exporters made from the solve response, or
// from stored, the image written into the store, when there is one.
func result(ctx context.Context, resp *client.SolveResponse, st *store.Store, stored *ocispec.Descriptor) (*BuildResult, error) {
	res := &BuildResult{}
	if resp == nil {
		return res, nil
	}
	if enc, ok := resp.ExporterResponse["containerimage.descriptor"]; ok {
		dt, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, fmt.Errorf("decode image descriptor: %w", err)
		}
		var d ocispec.Descriptor
		if err := json.Unmarshal(dt, &d); err != nil {
			return nil, fmt.Errorf("decode image descriptor: %w", err)
		}
		res.Target = &d
	}
	if stored != nil {
		res.Target = stored
	}
	res.ImageID = resp.ExporterResponse["containerimage.config.digest"]
	if res.ImageID == "" && res.Target != nil {
		// A multi-platform image has no one config; its ID is the one
		// images shows (this machine's platform's, else the first's),
		// when the image is in the store.
		if d, err := st.Details(ctx, *res.Target); err == nil {
			res.ImageID = d.ID()
		}
	}
	return res, nil
}

// record names the built image in the store under every tag at once, or
// keeps it untagged, as docker lists a build without -t as <none>.
func record(ctx context.Context, st *store.Store, tags []string, target ocispec.Descriptor) error {
	imgs := []store.Image{{Target: target}}
	if len(tags) > 0 {
		imgs = imgs[:0]
		for _, t := range tags {
			imgs = append(imgs, store.Image{Name: t, Target: target})
		}
	}
	if err := st.Name(ctx, imgs...); err != nil {
		return fmt.Errorf("name the built image: %w", err)
	}
	return nil
}

// WriteFiles writes --iidfile and --metadata-file for a build whose solve
// answered resp (ref names the build, as buildx's builder/node/ref).
func WriteFiles(o BuildOptions, res *BuildResult, resp *client.SolveResponse, ref string, provenance json.RawMessage) error {
	if o.IIDFile != "" && res.ImageID != "" {
		if err := atomicfile.WriteFile(o.IIDFile, []byte(res.ImageID), 0644); err != nil {
			return fmt.Errorf("--iidfile: %w", err)
		}
	}
	if o.MetadataFile != "" && resp != nil {
		md := map[string]any{}
		for k, v := range resp.ExporterResponse {
			md[k] = v
			// buildx decodes the base64 JSON values so that tools can read them.
			if dt, err := base64.StdEncoding.DecodeString(v); err == nil {
				var raw json.RawMessage
				if json.Unmarshal(dt, &raw) == nil && len(dt) > 0 && (dt[0] == '{' || dt[0] == '[') {
					md[k] = raw
				}
			}
		}
		// buildx names the build builder/node/ref; docker/build-push-action
		// reads it.
		md["buildx.build.ref"] = "builder/builder0/" + ref
		if provenance != nil {
			md["buildx.build.provenance"] = provenance
		}
		dt, _ := json.MarshalIndent(md, "", "  ")
		if err := atomicfile.WriteFile(o.MetadataFile, dt, 0644); err != nil {
			return fmt.Errorf("--metadata-file: %w", err)
		}
	}
	return nil
}

// dumpLLB runs the Dockerfile frontend and prints the graph it returns in
// format, instead of returning it to be built: the result is left unsolved
// (BuildKit evaluates a gateway result only when it is exported).
func dumpLLB(build gwclient.BuildFunc, format string, w io.Writer) gwclient.BuildFunc {
	return func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		res, err := build(ctx, c)
		if err != nil {
			return nil, err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, fmt.Errorf("--dump-llb: %w", err)
		}
		st := bkllb.Scratch()
		if ref != nil {
			if st, err = ref.ToState(); err != nil {
				return nil, fmt.Errorf("--dump-llb: %w", err)
			}
		}
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, fmt.Errorf("--dump-llb: %w", err)
		}
		ops, err := llb.Ops(def.ToPB())
		if err != nil {
			return nil, err
		}
		if format == "dot" {
			err = llb.WriteDot(w, ops)
		} else {
			err = llb.WriteJSON(w, ops)
		}
		if err != nil {
			return nil, err
		}
		return gwclient.NewResult(), nil
	}
}
