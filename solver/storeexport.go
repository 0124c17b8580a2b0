package solver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/leases"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/cache"
	cacheconfig "github.com/moby/buildkit/cache/config"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/exporter/containerimage"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	sessioncontent "github.com/moby/buildkit/session/content"
	"github.com/moby/buildkit/util/compression"
	"github.com/moby/buildkit/util/contentutil"
	"github.com/moby/buildkit/util/leaseutil"
	"github.com/moby/buildkit/worker/base"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// storeWorker is BuildKit's worker with one change to its OCI exporter
// (storeExporter).
type storeWorker struct {
	*base.Worker
	iw *containerimage.ImageWriter
	gc gcGate
}

// Prune is the worker's, until the solver closes (gcGate).
func (w *storeWorker) Prune(ctx context.Context, ch chan client.UsageInfo, opts ...client.PruneInfo) error {
	return w.gc.run(func() error { return w.Worker.Prune(ctx, ch, opts...) })
}

func newStoreWorker(w *base.Worker, wopt base.WorkerOpt) (*storeWorker, error) {
	// The worker's own image writer is unexported; it holds only these
	// options, so this one writes the same images.
	iw, err := containerimage.NewImageWriter(containerimage.WriterOpt{
		Snapshotter:  wopt.Snapshotter,
		ContentStore: wopt.ContentStore,
		Applier:      wopt.Applier,
		Differ:       wopt.Differ,
	})
	if err != nil {
		return nil, fmt.Errorf("create image writer: %w", err)
	}
	return &storeWorker{Worker: w, iw: iw}, nil
}

func (w *storeWorker) Exporter(name string, sm *session.Manager) (exporter.Exporter, error) {
	e, err := w.Worker.Exporter(name, sm)
	if err != nil || name != client.ExporterOCI {
		return e, err
	}
	return &storeExporter{oci: e, sm: sm, iw: w.iw, lm: w.LeaseManager()}, nil
}

// storeExporter is BuildKit's OCI exporter (exporter/oci, v0.34.2), except
// that an image it copies into the client's content store (tar=false:
// builder's image store, or an OCI layout directory) is copied in the
// export's finalize step rather than in Export. BuildKit's solver runs
// finalize steps beside the cache export (llbsolver.Solve), after every
// Export, so with --cache-to the cache's pushes overlap the store's writes
// instead of waiting for them (bench/README.md, ci (b)). Everything before
// the copy is BuildKit's code path in the same order: the image written
// is the same, byte for byte. tar=true is BuildKit's exporter unchanged.
type storeExporter struct {
	oci exporter.Exporter
	sm  *session.Manager
	iw  *containerimage.ImageWriter
	lm  leases.Manager
}

func (e *storeExporter) Resolve(ctx context.Context, id int, attrs map[string]string) (exporter.ExporterInstance, error) {
	// BuildKit's exporter reads and checks the attributes, and serves
	// everything but Export.
	inner, err := e.oci.Resolve(ctx, id, attrs)
	if err != nil {
		return nil, err
	}
	i := &storeInstance{ExporterInstance: inner, e: e, tar: true,
		opts: containerimage.ImageCommitOpts{RefCfg: cacheconfig.RefConfig{Compression: compression.New(compression.Default)}}}
	rest, err := i.opts.Load(ctx, attrs)
	if err != nil {
		return nil, err
	}
	for k, v := range rest {
		switch k {
		case "tar":
			if v != "" {
				if i.tar, err = strconv.ParseBool(v); err != nil {
					return nil, fmt.Errorf("non-bool value specified for tar: %w", err)
				}
			}
		default:
			if i.meta == nil {
				i.meta = map[string][]byte{}
			}
			i.meta[k] = []byte(v)
		}
	}
	return i, nil
}

type storeInstance struct {
	exporter.ExporterInstance
	e    *storeExporter
	tar  bool
	opts containerimage.ImageCommitOpts
	meta map[string][]byte
}

func (i *storeInstance) Export(ctx context.Context, src *exporter.Source, info exporter.ExportBuildInfo) (_ map[string]string, _ exporter.FinalizeFunc, descref exporter.DescriptorReference, err error) {
	if i.tar {
		return i.ExporterInstance.Export(ctx, src, info)
	}
	src = src.Clone()
	if src.Metadata == nil {
		src.Metadata = map[string][]byte{}
	}
	maps.Copy(src.Metadata, i.meta)
	opts := i.opts
	as, _, err := containerimage.ParseAnnotations(src.Metadata)
	if err != nil {
		return nil, nil, nil, err
	}
	opts.Annotations = opts.Annotations.Merge(as)
	opts.SetOCITypesDefault(true) // the OCI variant's default
	opts.SetOCIArtifactDefault(containerimage.DefaultOCIArtifact(info.CompatibilityVersion, &opts))
	if err := opts.Validate(); err != nil {
		return nil, nil, nil, err
	}

	// The lease holds the image's blobs until the solve releases descref,
	// which it does after every finalize step has run.
	ctx, done, err := leaseutil.WithLease(ctx, i.e.lm, leaseutil.MakeTemporary)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if descref == nil {
			done(context.WithoutCancel(ctx))
		}
	}()
	desc, _, err := i.e.iw.Commit(ctx, src, info.SessionID, info.InlineCache, &opts, info.CompatibilityVersion, i.Type())
	if err != nil {
		return nil, nil, nil, err
	}
	if desc.Annotations == nil {
		desc.Annotations = map[string]string{}
	}
	if _, ok := desc.Annotations[ocispec.AnnotationCreated]; !ok {
		tm := time.Now()
		if opts.Epoch != nil && opts.Epoch.Value != nil {
			tm = *opts.Epoch.Value
		}
		desc.Annotations[ocispec.AnnotationCreated] = tm.UTC().Format(time.RFC3339)
	}
	resp := map[string]string{exptypes.ExporterImageDigestKey: desc.Digest.String()}
	if v, ok := desc.Annotations[exptypes.ExporterConfigDigestKey]; ok {
		resp[exptypes.ExporterImageConfigDigestKey] = v
		delete(desc.Annotations, exptypes.ExporterConfigDigestKey)
	}
	dt, err := json.Marshal(desc)
	if err != nil {
		return nil, nil, nil, err
	}
	resp[exptypes.ExporterImageDescriptorKey] = base64.StdEncoding.EncodeToString(dt)
	name := opts.ImageName
	if n, ok := src.Metadata["image.name"]; name == "*" && ok {
		name = string(n)
	}
	names, err := normalizedNames(name)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(names) != 0 {
		resp[exptypes.ExporterImageNameKey] = strings.Join(names, ",")
	}
	finalize := func(ctx context.Context) error {
		return i.copyToClient(ctx, src, info.SessionID, *desc)
	}
	return resp, finalize, containerimage.NewDescriptorReference(*desc, done), nil
}

// copyToClient copies the image desc into the session's "export" content
// store, children first and root last (contentutil.CopyChain), fetching
// layers the build left lazy (a base image's) on the way, as BuildKit's
// OCI exporter does in its Export.
func (i *storeInstance) copyToClient(ctx context.Context, src *exporter.Source, sessionID string, desc ocispec.Descriptor) error {
	timeoutCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	caller, err := i.e.sm.Get(timeoutCtx, sessionID, false)
	if err != nil {
		return err
	}
	refs := []cache.ImmutableRef{}
	if src.Ref != nil {
		refs = append(refs, src.Ref)
	}
	for _, ref := range src.Refs {
		if ref != nil {
			refs = append(refs, ref)
		}
	}
	mprovider := contentutil.NewMultiProvider(i.e.iw.ContentStore())
	eg, egCtx := errgroup.WithContext(ctx)
	for _, ref := range refs {
		eg.Go(func() error {
			remotes, err := ref.GetRemotes(egCtx, false, i.opts.RefCfg, false, session.NewGroup(sessionID))
			if err != nil {
				return err
			}
			remote := remotes[0]
			if unlazier, ok := remote.Provider.(cache.Unlazier); ok {
				if err := unlazier.Unlazy(egCtx); err != nil {
					return err
				}
			}
			for _, d := range remote.Descriptors {
				mprovider.Add(d.Digest, remote.Provider)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	return contentutil.CopyChain(ctx, sessioncontent.NewCallerStore(caller, "export"), mprovider, desc)
}

// normalizedNames is BuildKit's OCI exporter's reading of name=: each
// comma-separated name in full, tagged "latest" when it has no tag.
func normalizedNames(name string) ([]string, error) {
	if name == "" {
		return nil, nil
	}
	var out []string
	for _, n := range strings.Split(name, ",") {
		parsed, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %s: %w", n, err)
		}
		out = append(out, reference.TagNameOnly(parsed).String())
	}
	return out, nil
}
