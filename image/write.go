package image

import (
	"context"
	"fmt"

	"github.com/builder-dev/builder/store"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Write stores an image that builder assembles itself (import, commit):
// its config, then an OCI manifest of layers over it. The layers must be
// stored already. It returns the manifest's descriptor, carrying the
// image's platform, and the config's, whose digest is the image ID. The
// image is not named: the caller names it (store.Name) once it is whole.
// config is the config document: an ocispec.Image, or a raw map where
// fields the OCI struct lacks must survive.
func Write(ctx context.Context, w store.JSONWriter, config any, platform ocispec.Platform, layers []ocispec.Descriptor) (target, configDesc ocispec.Descriptor, err error) {
	configDesc, err = w.WriteJSON(ctx, ocispec.MediaTypeImageConfig, config)
	if err != nil {
		return target, configDesc, fmt.Errorf("write image config: %w", err)
	}
	if layers == nil {
		layers = []ocispec.Descriptor{} // "layers": [] — the spec requires the field
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    layers,
	}
	target, err = w.WriteJSON(ctx, ocispec.MediaTypeImageManifest, manifest)
	if err != nil {
		return target, configDesc, fmt.Errorf("write image manifest: %w", err)
	}
	target.Platform = &platform
	return target, configDesc, nil
}
