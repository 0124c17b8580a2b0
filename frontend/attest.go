package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/builder-dev/builder/internal/kv"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// AttestOptions are the flags that ask for attestations, as buildx takes
// them.
type AttestOptions struct {
	// Provenance is --provenance: "" (buildx's default), true, false, or
	// mode=min|max[,builder-id=...].
	Provenance string
	// Attest are --attest values: type=provenance|sbom,KEY=VALUE...
	Attest []string
	// SBOM is --sbom: "", true, false, or generator=IMAGE.
	SBOM string
}

// attestAttrs turns o into the frontend's attest:TYPE attributes. A
// published build (exporter.Published) records min-mode provenance unless
// told otherwise (--provenance=false, or BUILDX_NO_DEFAULT_ATTESTATIONS
// set), as buildx's default builder does. A build into the local store
// records none unless asked, as docker's own store does under buildx's
// default docker driver: provenance adds three blobs to every build
// (measured: a warm build's export 11 ms -> 64 ms).
func attestAttrs(o AttestOptions, published bool) (map[string]string, error) {
	attests := map[string]map[string]string{}
	if off, _ := strconv.ParseBool(os.Getenv("BUILDX_NO_DEFAULT_ATTESTATIONS")); !off && published {
		attests["provenance"] = map[string]string{"mode": "min"}
	}
	set := func(flag, typ, value string) error {
		if b, err := strconv.ParseBool(value); err == nil {
			switch {
			case !b:
				delete(attests, typ)
			case attests[typ] == nil && typ == "provenance":
				attests[typ] = map[string]string{"mode": "min"}
			case attests[typ] == nil:
				attests[typ] = map[string]string{}
			}
			return nil
		}
		kv, err := csvKV(flag, value)
		if err != nil {
			return err
		}
		return put(attests, flag, typ, kv)
	}
	if o.Provenance != "" {
		if err := set("--provenance", "provenance", o.Provenance); err != nil {
			return nil, err
		}
	}
	if o.SBOM != "" {
		if err := set("--sbom", "sbom", o.SBOM); err != nil {
			return nil, err
		}
	}
	for _, a := range o.Attest {
		kv, err := csvKV("--attest", a)
		if err != nil {
			return nil, err
		}
		typ := kv["type"]
		delete(kv, "type")
		switch typ {
		case "provenance", "sbom":
		case "":
			return nil, fmt.Errorf("--attest %q: type=provenance or type=sbom is required", a)
		default:
			return nil, fmt.Errorf("--attest %q: unknown attestation type %q (want provenance or sbom)", a, typ)
		}
		if err := put(attests, "--attest", typ, kv); err != nil {
			return nil, err
		}
	}
	out := map[string]string{}
	for typ, kv := range attests {
		var fields []string
		for k, v := range kv {
			fields = append(fields, k+"="+v)
		}
		sort.Strings(fields)
		out["attest:"+typ] = strings.Join(fields, ",")
	}
	return out, nil
}

// put records one attestation's options, checking what BuildKit would only
// reject mid-build.
func put(attests map[string]map[string]string, flag, typ string, kv map[string]string) error {
	if d, ok := kv["disabled"]; ok {
		if b, err := strconv.ParseBool(d); err != nil {
			return fmt.Errorf("%s: disabled=%q: want true or false", flag, d)
		} else if b {
			delete(attests, typ)
			return nil
		}
		delete(kv, "disabled")
	}
	switch typ {
	case "provenance":
		if m, ok := kv["mode"]; ok && m != "min" && m != "max" {
			return fmt.Errorf("%s: mode=%q: want min or max", flag, m)
		}
		if _, ok := kv["mode"]; !ok {
			kv["mode"] = "min"
		}
	case "sbom":
		if g, ok := kv["generator"]; ok {
			if _, err := reference.ParseNormalizedNamed(g); err != nil {
				return fmt.Errorf("%s: generator=%q: %w", flag, g, err)
			}
		}
	}
	attests[typ] = kv
	return nil
}

func csvKV(flag, s string) (map[string]string, error) {
	attrs, err := kv.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", flag, s, err)
	}
	return attrs, nil
}

// storedProvenance reads the SLSA provenance predicate of an image in st
// from its attestation manifest, as buildx puts it in --metadata-file
// (buildx.build.provenance); nil when the image has none.
func storedProvenance(ctx context.Context, st *store.Store, target ocispec.Descriptor) (json.RawMessage, error) {
	if !images.IsIndexType(target.MediaType) {
		return nil, nil
	}
	var idx ocispec.Index
	if err := st.ReadJSON(ctx, target, &idx); err != nil {
		return nil, err
	}
	for _, m := range idx.Manifests {
		if m.Annotations[attestationRefType] != attestationManifest {
			continue
		}
		var man ocispec.Manifest
		if err := st.ReadJSON(ctx, m, &man); err != nil {
			return nil, err
		}
		for _, l := range man.Layers {
			if !strings.HasPrefix(l.Annotations["in-toto.io/predicate-type"], "https://slsa.dev/provenance/") {
				continue
			}
			var stmt struct {
				Predicate json.RawMessage `json:"predicate"`
			}
			if err := st.ReadJSON(ctx, l, &stmt); err != nil {
				return nil, err
			}
			return stmt.Predicate, nil
		}
	}
	return nil, nil
}

// How buildx and BuildKit mark an attestation manifest in an image index.
const (
	attestationRefType  = "vnd.docker.reference.type"
	attestationManifest = "attestation-manifest"
)
