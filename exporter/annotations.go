package exporter

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// annotationType is TYPE[PLATFORM] of --annotation TYPE,...:KEY=VALUE.
var annotationType = regexp.MustCompile(`^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$`)

// ParseAnnotations reads --annotation values as buildx does: KEY=VALUE
// (the image exporter's default, the manifest), or TYPES:KEY=VALUE where
// TYPES is a comma-separated list of manifest, index, manifest-descriptor
// and index-descriptor, each with an optional [PLATFORM]. It returns them
// as BuildKit's exporter attributes ("annotation-manifest[linux/amd64].K").
func ParseAnnotations(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, in := range values {
		if in == "" {
			continue
		}
		k, v, ok := strings.Cut(in, "=")
		if !ok {
			return nil, fmt.Errorf("--annotation %q: want KEY=VALUE or TYPE:KEY=VALUE", in)
		}
		types, key, typed := strings.Cut(k, ":")
		if !typed {
			out[exptypes.AnnotationKey{Key: types}.String()] = v
			continue
		}
		for _, t := range strings.Split(types, ",") {
			m := annotationType.FindStringSubmatch(t)
			if m == nil {
				return nil, fmt.Errorf("--annotation %q: invalid annotation type %q, expected type and optional platform in square brackets", in, t)
			}
			switch m[1] {
			case exptypes.AnnotationIndex, exptypes.AnnotationIndexDescriptor, exptypes.AnnotationManifest, exptypes.AnnotationManifestDescriptor:
			default:
				return nil, fmt.Errorf("--annotation %q: unknown annotation type %q (manifest, index, manifest-descriptor, index-descriptor)", in, m[1])
			}
			ak := exptypes.AnnotationKey{Type: m[1], Key: key}
			if m[2] != "" {
				p, err := platforms.Parse(m[2])
				if err != nil {
					return nil, fmt.Errorf("--annotation %q: invalid platform %q: %w", in, m[2], err)
				}
				ak.Platform = &ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
			}
			out[ak.String()] = v
		}
	}
	return out, nil
}

// Annotate adds annotations (ParseAnnotations's) to every export that
// writes an image: the store, a push, OCI and docker archives. An -o that
// names the same annotation keeps its own value.
func (p *Plan) Annotate(annotations map[string]string) {
	for i, e := range p.Entries {
		switch e.Type {
		case client.ExporterImage, client.ExporterOCI, client.ExporterDocker:
		default:
			continue
		}
		for k, v := range annotations {
			if _, ok := e.Attrs[k]; !ok {
				p.Entries[i].Attrs[k] = v
			}
		}
	}
}
