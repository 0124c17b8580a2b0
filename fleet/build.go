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
// an error naming it, and the other nodes' builds are cancelled.
func Build(ctx context.Context, o BuildOptions) error {
	if !o.Build.Push || len(o.Build.Outputs) > 0 {
		return errors.New("several --addr: the platforms' images meet in a registry; give --push (and no -o)")
	}
	if len(o.Build.Tags) == 0 {
		return errors.New("--push: name the image to push with -t")
	}
	repo, err := reference.ParseNormalizedNamed(o.Build.Tags[0])
	if err != nil {
		return fmt.Errorf("invalid reference format: %s", o.Build.Tags[0])
	}
	for _, t := range o.Build.Tags[1:] {
		n, err := reference.ParseNormalizedNamed(t)
		if err != nil || n.Name() != repo.Name() {
			return fmt.Errorf("several --addr: every -t must name one repository (%s), for one index", repo.Name())
		}
	}
	// Each connection asked for its platforms is the one its build uses;
	// those no build uses are closed here.
	nodes := make([]Node, len(o.Addrs))
	solvers := make([]*solver.Solver, len(o.Addrs))
	defer func() {
		for _, s := range solvers {
			if s != nil {
				s.Close()
			}
		}
	}()
	for i, a := range o.Addrs {
		s, err := o.Open(ctx, a)
		if err != nil {
			return fmt.Errorf("solver %s: %w", a, err)
		}
		solvers[i] = s
		ws, err := s.Client.ListWorkers(ctx)
		if err != nil {
			return solver.NameLost(fmt.Errorf("solver %s: list workers: %w", a, err), a)
		}
		nodes[i].Addr = a
		for _, w := range ws {
			nodes[i].Platforms = append(nodes[i].Platforms, w.Platforms...)
		}
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
	if err := eg.Wait(); err != nil {
		return err
	}
	var manifests []ocispec.Descriptor
	for _, i := range idxs {
		t := targets[i]
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
		named, _ := reference.ParseNormalizedNamed(tag) // checked above
		name := reference.TagNameOnly(named).String()
		if index, err = o.Registry.PutIndex(ctx, name, manifests); err != nil {
			return err
		}
		names = append(names, name)
		fmt.Fprintf(o.Env.Stderr, "pushed %s: %s (%d platforms from %d solvers)\n", tag, index.Digest, len(want), len(idxs))
	}
	// --iidfile and --metadata-file hold the index, as buildx writes them
	// for a multi-platform push.
	desc, _ := json.Marshal(index)
	resp := &client.SolveResponse{ExporterResponse: map[string]string{
		"containerimage.digest":     index.Digest.String(),
		"containerimage.descriptor": base64.StdEncoding.EncodeToString(desc),
		"image.name":                strings.Join(names, ","),
	}}
	return frontend.WriteFiles(o.Build, &frontend.BuildResult{ImageID: index.Digest.String(), Target: &index}, resp, identity.NewID(), nil)
}
