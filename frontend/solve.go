package frontend

import (
	"context"
	"fmt"
	"io"
	"runtime/trace"
	"strings"
	"sync"

	"github.com/builder-dev/builder/cache"
	"github.com/builder-dev/builder/exporter"
	"github.com/builder-dev/builder/llb"
	"github.com/builder-dev/builder/progress"
	"github.com/builder-dev/builder/solver"
	"github.com/builder-dev/builder/solver/localsource"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/client"
	buildctl "github.com/moby/buildkit/cmd/buildctl/build"
	dockerfile "github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/archutil"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
)

// solved is what the solve stage leaves the record stage.
type solved struct {
	resp    *client.SolveResponse
	exports *exporter.Plan
	ref     string // the build's ID (buildx's builder/node/REF)
	// release closes the solver, then lets collection run again: the
	// record stage names the image first.
	release func()
}

// solve is a build's third stage: it opens the solver, offers it the
// session (the context, the store, credentials, secrets), runs BuildKit's
// Dockerfile frontend on it with progress shown, and leaves the exports
// to be committed. On error what it began is undone.
func solve(ctx context.Context, env BuildEnv, o BuildOptions, in *input, pl *plan) (_ *solved, err error) {
	region := trace.StartRegion(ctx, "build: open solver")
	checked := checkCache(ctx, env, o, pl)
	s := &solved{exports: &exporter.Plan{}, release: func() {}}
	defer func() {
		if err != nil {
			s.exports.Abort()
			s.release()
			// A bad cache fails the build before anything is built, and
			// its error comes before any other.
			if cerr := checked(); cerr != nil {
				err = cerr
			}
		}
	}()
	if o.DumpLLB == "" {
		exports, err := exporter.NewPlan(pl.specs, pl.tags, o.Push, env.Store.Content(), env.Stdout, pl.multiPlatform())
		if err != nil {
			return nil, err
		}
		exports.Annotate(pl.annotations)
		s.exports = exports
	}
	// Blobs the build exports reach the store before the index names them,
	// and stored images may be its bases: keep garbage collection off them.
	writing, err := env.Store.Writing(ctx)
	if err != nil {
		return nil, err
	}
	s.release = writing
	slv, err := env.OpenSolver(ctx)
	if err != nil {
		return nil, err
	}
	s.release = func() {
		defer writing()
		defer trace.StartRegion(ctx, "build: close solver").End()
		slv.Close()
	}
	region.End()
	if err := checked(); err != nil {
		return nil, err
	}
	opt, bases, err := solveOpt(ctx, env.Store, o, in, pl, s.exports.Entries)
	if err != nil {
		return nil, err
	}
	s.ref = opt.Ref
	if slv.Local != nil {
		// The solver runs in this process: the build's session is made
		// here, so that the solver knows its directories and can check
		// them for changes itself (solver/localsource).
		sess, err := session.NewSession(ctx, opt.SharedKey)
		if err != nil {
			return nil, fmt.Errorf("create session: %w", err)
		}
		opt.SharedSession = sess
		defer slv.Local.Add(sess.ID(), in.localDirs())()
	}
	build := frontendFunc(bases, in.dockerfile)
	if o.DumpLLB != "" {
		build = llb.DumpFunc(build, o.DumpLLB, env.Stdout)
	}
	defer trace.StartRegion(ctx, "build: solve and export").End()
	if s.resp, err = runFrontend(ctx, slv, opt, build, pl.progress, env.Stderr); err != nil {
		// The Dockerfile lines an error comes from, as buildx shows them:
		// "Dockerfile:3", a snippet, ">>>" on the culprit.
		for _, src := range errdefs.Sources(err) {
			src.Print(env.Stderr)
		}
		return nil, noEmulator(err, pl.platforms)
	}
	return s, nil
}

// checkCache checks each --cache-to and --cache-from entry (env.CheckCache)
// while the solver opens: a round trip each, a few ms against the ten the
// solver takes. The function returned waits for the answer.
func checkCache(ctx context.Context, env BuildEnv, o BuildOptions, pl *plan) func() error {
	if env.CheckCache == nil || o.DumpLLB != "" {
		return func() error { return nil }
	}
	cerr := make(chan error, 1)
	go func() {
		cerr <- func() error {
			for _, e := range pl.cacheTo {
				if err := env.CheckCache(ctx, cache.To, e); err != nil {
					return err
				}
			}
			for _, e := range pl.cacheFrom {
				if err := env.CheckCache(ctx, cache.From, e); err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	return sync.OnceValue(func() error { return <-cerr })
}

// runFrontend runs build on the solver's gateway, drawing its progress.
func runFrontend(ctx context.Context, slv *solver.Solver, opt client.SolveOpt, build gwclient.BuildFunc, mode progressui.DisplayMode, w io.Writer) (*client.SolveResponse, error) {
	ch := make(chan *client.SolveStatus)
	eg, egCtx := errgroup.WithContext(ctx)
	var resp *client.SolveResponse
	eg.Go(func() error {
		var err error
		// The frontend runs here, client-side, and drives the solver over
		// the gateway API: the same code serves a remote buildkitd.
		resp, err = slv.Client.Build(egCtx, opt, "", build, ch)
		return err
	})
	eg.Go(func() error {
		// Progress is drawn until the channel closes, even when ctx is
		// cancelled, so the last lines (and errors) are shown.
		return progress.Display(context.WithoutCancel(egCtx), mode, w, ch)
	})
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return resp, nil
}

// solveOpt is what the solver is asked: the frontend's attributes with
// the named contexts (--build-context's, and the stored images offered as
// bases, which it also returns), the local directories and OCI stores the
// session serves, and its other attachables.
func solveOpt(ctx context.Context, st *store.Store, o BuildOptions, in *input, pl *plan, exports []client.ExportEntry) (client.SolveOpt, map[string]store.Image, error) {
	imgs, err := st.List(ctx)
	if err != nil {
		return client.SolveOpt{}, nil, err
	}
	named, err := parseBuildContexts(o.BuildContexts, imgs, o.Pull)
	if err != nil {
		return client.SolveOpt{}, nil, err
	}
	attrs := map[string]string{}
	for k, v := range pl.attrs {
		attrs[k] = v
	}
	for k, v := range named.attrs {
		attrs[k] = v
	}
	var bases map[string]store.Image
	if !o.Pull {
		bases = offerStoreBases(attrs, imgs)
	}
	mounts, err := localMounts(in, named.locals)
	if err != nil {
		return client.SolveOpt{}, nil, err
	}
	stores, err := openLayouts(named.layouts)
	if err != nil {
		return client.SolveOpt{}, nil, err
	}
	stores[StoreName] = st.Content()
	attachables, err := sessionAttachables(o, in)
	if err != nil {
		return client.SolveOpt{}, nil, err
	}
	opt := client.SolveOpt{
		Ref:           identity.NewID(),
		SharedKey:     in.sharedKey(),
		CacheExports:  pl.cacheTo,
		CacheImports:  pl.cacheFrom,
		FrontendAttrs: attrs,
		LocalMounts:   mounts,
		Exports:       exports,
		Session:       attachables,
		OCIStores:     stores,
	}
	if o.Network == "host" {
		opt.AllowedEntitlements = []string{string(entitlements.EntitlementNetworkHost)}
	}
	return opt, bases, nil
}

// localMounts are the directories the session serves: the context and the
// Dockerfile's, walked by solver/localsource (fsutil's, faster), and
// --build-context's.
func localMounts(in *input, named map[string]fsutil.FS) (map[string]fsutil.FS, error) {
	mounts := map[string]fsutil.FS{}
	for k, fs := range named {
		mounts[k] = fs
	}
	for name, dir := range in.localDirs() {
		fs, err := localsource.NewFS(dir)
		if err != nil {
			what := "build context"
			if name == "dockerfile" {
				what = "Dockerfile directory"
			}
			return nil, fmt.Errorf("open %s %s: %w", what, dir, err)
		}
		mounts[name] = fs
	}
	return mounts, nil
}

// sessionAttachables serve the solver registry credentials (docker's
// config.json and its helpers), stdin's context, --secret and --ssh.
func sessionAttachables(o BuildOptions, in *input) ([]session.Attachable, error) {
	attachables := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(config.LoadDefaultConfigFile(io.Discard)),
	})}
	if in.upload != nil {
		attachables = append(attachables, in.upload)
	}
	if len(o.Secrets) > 0 {
		a, err := buildctl.ParseSecret(o.Secrets)
		if err != nil {
			return nil, fmt.Errorf("--secret: %w", err)
		}
		attachables = append(attachables, a)
	}
	if len(o.SSH) > 0 {
		cfgs, err := buildctl.ParseSSH(o.SSH)
		if err != nil {
			return nil, fmt.Errorf("--ssh: %w", err)
		}
		a, err := sshprovider.NewSSHAgentProvider(cfgs)
		if err != nil {
			return nil, fmt.Errorf("--ssh: %w", err)
		}
		attachables = append(attachables, a)
	}
	return attachables, nil
}

// frontendFunc runs BuildKit's Dockerfile frontend, here, on the solver's
// gateway, for a build offered stored images as bases (StoreBases).
// df is nil for a context the solver fetches (git, HTTP): it is read
// through the gateway first, for its stages and its `# syntax=` line,
// where one the compiled-in frontend serves is built offline, as for a
// local context.
func frontendFunc(bases map[string]store.Image, df []byte) gwclient.BuildFunc {
	return func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		src := df
		if src == nil {
			bc, err := dockerui.NewClient(c)
			if err != nil {
				return nil, err
			}
			_, hasCmdline := bc.BuildOpts().Opts["cmdline"]
			if !hasCmdline || len(bases) > 0 {
				f, err := bc.ReadEntrypoint(ctx, "Dockerfile")
				if err != nil {
					return nil, err
				}
				src = f.Data
			}
			if ref, _, _, ok := parser.DetectSyntax(src); ok && !hasCmdline && EmbeddedServes(ref) {
				c = withAttr{Client: c, key: "cmdline", value: ref}
			}
		}
		return dockerfile.Build(ctx, withStoreBases(c, bases, src))
	}
}

// withAttr adds one frontend attribute to a gateway client's options.
type withAttr struct {
	gwclient.Client
	key, value string
}

func (c withAttr) BuildOpts() gwclient.BuildOpts {
	o := c.Client.BuildOpts()
	opts := make(map[string]string, len(o.Opts)+1)
	for k, v := range o.Opts {
		opts[k] = v
	}
	opts[c.key] = c.value
	o.Opts = opts
	return o
}

// noEmulator explains a step that could not execute because a platform
// asked for has no emulator on this machine, and how to get one.
func noEmulator(err error, ps []string) error {
	// The kernel's "exec format error" is only in the step's output; the
	// error says a RUN process failed.
	if len(ps) == 0 || !strings.Contains(err.Error(), "did not complete successfully") {
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
