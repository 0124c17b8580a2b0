package fleet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/builder-dev/builder/frontend"
	"github.com/builder-dev/builder/registry"
	"github.com/builder-dev/builder/solver"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// BuildOptions are a build over several solvers.
type BuildOptions struct {
	// Addrs are the --addr values, one solver each.
	Addrs []string
	// Open connects to one of them.
	Open func(ctx context.Context, addr string) (*solver.Solver, error)
	// Build is the user's build: Platform lists every platform; Tags
	// name the image; Push must be set (the platforms meet in a registry).
	Build frontend.BuildOptions
	// Env is where progress goes; OpenSolver is set per node.
	Env frontend.BuildEnv
	// Registry joins the pushed images into one index under each tag.
	Registry *registry.Client
}

// Build builds each platform on the node Assign picks, concurrently, each
// node pushing its images by digest, then pushes one index of them all
// under every tag. A node that fails (or goes away) fails the build with
// an error naming it, and the other nodes' builds are cancelled. Each
// platform goes through frontend.Build's stages as a one-node build does.
func Build(ctx context.Context, o BuildOptions) error {
	repo, err := checkFleetBuild(o.Build)
	if err != nil {
		return err
	}
	// Each connection asked for its platforms is the one its build uses;
	// those no build uses are closed here.
	nodes, solvers, err := connect(ctx, o)
	defer func() {
		for _, s := range solvers {
			if s != nil {
				s.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	want := []string{}
	if o.Build.Platform != "" {
		if want, err = frontend.ParsePlatforms(o.Build.Platform); err != nil {
			return err
		}
	} else if len(nodes[0].Platforms) > 0 {
		want = []string{platforms.Format(nodes[0].Platforms[0])}
	}
	assigned, err := Assign(want, nodes)
	if err != nil {
		return err
	}
	perNode := map[int][]string{}
	for _, p := range want {
		perNode[assigned[p]] = append(perNode[assigned[p]], p)
	}
	targets, err := buildOnNodes(ctx, o, repo, nodes, solvers, perNode)
	if err != nil {
		return err
	}
	return pushIndex(ctx, o, repo, targets, len(want))
}

// checkFleetBuild refuses what a build over several solvers cannot do:
// the platforms' images meet in one repository of a registry.
func checkFleetBuild(b frontend.BuildOptions) (reference.Named, error) {
	if !b.Push || len(b.Outputs) > 0 {
		return nil, errors.New("several --addr: the platforms' images meet in a registry; give --push (and no -o)")
	}
	if len(b.Tags) == 0 {
		return nil, errors.New("--push: name the image to push with -t")
	}
	repo, err := reference.ParseNormalizedNamed(b.Tags[0])
	if err != nil {
		return nil, fmt.Errorf("invalid reference format: %s", b.Tags[0])
	}
	for _, t := range b.Tags[1:] {
		n, err := reference.ParseNormalizedNamed(t)
		if err != nil || n.Name() != repo.Name() {
			return nil, fmt.Errorf("several --addr: every -t must name one repository (%s), for one index", repo.Name())
		}
	}
	return repo, nil
}

// connect opens every solver and asks each for its platforms. The
// solvers it opened are returned even on error, for the caller to close.
func connect(ctx context.Context, o BuildOptions) ([]Node, []*solver.Solver, error) {
	nodes := make([]Node, len(o.Addrs))
	solvers := make([]*solver.Solver, len(o.Addrs))
	for i, a := range o.Addrs {
		s, err := o.Open(ctx, a)
		if err != nil {
			return nil, solvers, fmt.Errorf("solver %s: %w", a, err)
		}
		solvers[i] = s
		ws, err := s.Client.ListWorkers(ctx)
		if err != nil {
			return nil, solvers, solver.NameLost(fmt.Errorf("solver %s: list workers: %w", a, err), a)
		}
		nodes[i].Addr = a
		for _, w := range ws {
			nodes[i].Platforms = append(nodes[i].Platforms, w.Platforms...)
		}
	}
	return nodes, solvers, nil
}

// buildOnNodes runs frontend.Build for each node's platforms on it, all at
// once, each pushing by digest to repo; it returns each node's image (nil
// for a node given nothing). solvers[i] passes to the build on node i.
func buildOnNodes(ctx context.Context, o BuildOptions, repo reference.Named, nodes []Node, solvers []*solver.Solver, perNode map[int][]string) ([]*ocispec.Descriptor, error) {
	idxs := make([]int, 0, len(perNode))
	for i := range perNode {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	targets := make([]*ocispec.Descriptor, len(nodes))
	eg, ectx := errgroup.WithContext(ctx)
	for _, i := range idxs {
		addr, ps, slv := nodes[i].Addr, perNode[i], solvers[i]
		solvers[i] = nil // frontend.Build closes it once it opens it
		fmt.Fprintf(o.Env.Stderr, "building %s on %s\n", strings.Join(ps, ","), addr)
		eg.Go(func() error {
			bo := o.Build
			bo.Platform = strings.Join(ps, ",")
			bo.Push, bo.Tags, bo.IIDFile, bo.MetadataFile = false, nil, "", ""
			bo.Outputs = []string{"type=image,name=" + repo.Name() + ",push=true,push-by-digest=true"}
			env := o.Env
			opened := false
			env.OpenSolver = func(context.Context) (*solver.Solver, error) { opened = true; return slv, nil }
			res, err := frontend.Build(ectx, env, bo)
			if !opened {
				slv.Close() // bad input: frontend.Build stopped before it
			}
			if err != nil {
				return fmt.Errorf("build %s on %s: %w", bo.Platform, addr, solver.NameLost(err, addr))
			}
			if res.Target == nil {
				return fmt.Errorf("build %s on %s: the solver reported no pushed image", bo.Platform, addr)
			}
			if images.IsManifestType(res.Target.MediaType) && len(ps) == 1 {
				p := platforms.MustParse(ps[0])
				res.Target.Platform = &p
			}
			targets[i] = res.Target
			return nil
		})
	}
	return targets, eg.Wait()
}

// pushIndex joins the nodes' images into one index under every tag, and
// writes --iidfile and --metadata-file for it, as buildx writes them for a
// multi-platform push.
func pushIndex(ctx context.Context, o BuildOptions, repo reference.Named, targets []*ocispec.Descriptor, nPlatforms int) error {
	var manifests []ocispec.Descriptor
	nodes := 0
	for _, t := range targets {
		if t == nil {
			continue
		}
		nodes++
		if images.IsIndexType(t.MediaType) {
			ms, err := o.Registry.ReadIndex(ctx, repo.Name(), *t)
			if err != nil {
				return err
			}
			manifests = append(manifests, ms...)
			continue
		}
		manifests = append(manifests, *t)
	}
	var index ocispec.Descriptor
	var names []string
	for _, tag := range o.Build.Tags {
		named, _ := reference.ParseNormalizedNamed(tag) // checked by checkFleetBuild
		name := reference.TagNameOnly(named).String()
		var err error
		if index, err = o.Registry.PutIndex(ctx, name, manifests); err != nil {
			return err
		}
		names = append(names, name)
		fmt.Fprintf(o.Env.Stderr, "pushed %s: %s (%d platforms from %d solvers)\n", tag, index.Digest, nPlatforms, nodes)
	}
	desc, _ := json.Marshal(index)
	resp := &client.SolveResponse{ExporterResponse: map[string]string{
		"containerimage.digest":     index.Digest.String(),
		"containerimage.descriptor": base64.StdEncoding.EncodeToString(desc),
		"image.name":                strings.Join(names, ","),
	}}
	return frontend.WriteFiles(o.Build, &frontend.BuildResult{ImageID: index.Digest.String(), Target: &index}, resp, identity.NewID(), nil)
}
