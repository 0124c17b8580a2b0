package frontend

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime/trace"

	"github.com/builder-dev/builder/internal/atomicfile"
	"github.com/builder-dev/builder/store"
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// record is a build's last stage: the exports are committed (files
// renamed into place), the image in the store is named, and --iidfile,
// --metadata-file and -q's ID are written.
func record(ctx context.Context, env BuildEnv, o BuildOptions, pl *plan, s *solved) (*BuildResult, error) {
	defer trace.StartRegion(ctx, "build: store").End()
	if err := s.exports.Commit(ctx); err != nil {
		return nil, err
	}
	var stored *ocispec.Descriptor
	if s.exports.Store && s.resp != nil {
		// The response names the last exporter's image: with --push, the
		// pushed one, which the store does not hold.
		target, err := s.exports.StoreTarget(ctx)
		if err != nil {
			return nil, err
		}
		stored = &target
	}
	res, err := result(ctx, s.resp, env.Store, stored)
	if err != nil {
		return nil, err
	}
	if stored != nil {
		if err := name(ctx, env.Store, pl.tags, *stored); err != nil {
			return nil, err
		}
	}
	var provenance json.RawMessage
	if _, ok := pl.attrs["attest:provenance"]; ok && s.exports.Store && res.Target != nil && o.MetadataFile != "" {
		if provenance, err = storedProvenance(ctx, env.Store, *res.Target); err != nil {
			return nil, fmt.Errorf("--metadata-file: read provenance: %w", err)
		}
	}
	if err := WriteFiles(o, res, s.resp, s.ref, provenance); err != nil {
		return nil, err
	}
	if o.Quiet && res.ImageID != "" {
		fmt.Fprintln(env.Stdout, res.ImageID)
	}
	return res, nil
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

// name names the built image in the store under every tag at once, or
// keeps it untagged, as docker lists a build without -t as <none>.
func name(ctx context.Context, st *store.Store, tags []string, target ocispec.Descriptor) error {
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
	if o.MetadataFile == "" || resp == nil {
		return nil
	}
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
	return nil
}
