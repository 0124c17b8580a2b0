package cache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/builder-dev/builder/internal/kv"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
)

// Direction says which flag a cache option came from.
type Direction string

const (
	// To is --cache-to: the build's cache is exported.
	To Direction = "--cache-to"
	// From is --cache-from: a cache is imported before the build.
	From Direction = "--cache-from"
)

// The cache backends, BuildKit's own exporters and importers, under
// buildx's names: the one list of them, which the embedded solver's
// backends (solver/embedded.go) are registered by.
const (
	Registry = "registry"
	Local    = "local"
	Inline   = "inline" // export only: the cache rides in the image
	GHA      = "gha"    // linked with -tags cloudcache
	S3       = "s3"     // linked with -tags cloudcache
)

// Types lists the backends each flag accepts.
var Types = map[Direction][]string{
	To:   {Registry, Local, Inline, GHA, S3},
	From: {Registry, Local, GHA, S3},
}

// ParseOptions reads --cache-to or --cache-from values as buildx does:
// "type=registry,ref=REF,mode=max", or a bare REF meaning
// type=registry,ref=REF. Everything BuildKit would only find wrong in the
// middle of a build (a missing ref, dest or src, a mode other than min or
// max, a flag that is not a boolean) is refused here, naming the flag.
func ParseOptions(dir Direction, values []string) ([]client.CacheOptionsEntry, error) {
	var out []client.CacheOptionsEntry
	for _, v := range values {
		e, err := parseOne(dir, v)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", dir, v, err)
		}
		if dir == From && e.Type == Local {
			// A first CI run has no cache yet, and that is not an error. Left
			// in, BuildKit's client would create the directory it reads.
			if _, err := os.Stat(filepath.Join(e.Attrs["src"], "index.json")); err != nil {
				continue
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func parseOne(dir Direction, s string) (client.CacheOptionsEntry, error) {
	e := client.CacheOptionsEntry{Attrs: map[string]string{}}
	if !strings.Contains(s, "=") {
		e.Type, e.Attrs["ref"] = Registry, s
	} else {
		attrs, err := kv.Parse(s)
		if err != nil {
			return e, err
		}
		e.Type, e.Attrs = attrs["type"], attrs
		delete(attrs, "type")
	}
	known := false
	for _, t := range Types[dir] {
		known = known || t == e.Type
	}
	if !known {
		if e.Type == "" {
			return e, fmt.Errorf("type=<type> is required (one of %s)", strings.Join(Types[dir], ", "))
		}
		if dir == From && e.Type == Inline {
			return e, fmt.Errorf("an inline cache is imported by naming its image: type=registry,ref=IMAGE")
		}
		return e, fmt.Errorf("unknown cache type %q (want one of %s)", e.Type, strings.Join(Types[dir], ", "))
	}
	for _, k := range []string{"ignore-error", "image-manifest", "oci-mediatypes", "force-compression"} {
		if v, ok := e.Attrs[k]; ok {
			if _, err := strconv.ParseBool(v); err != nil {
				return e, fmt.Errorf("%s=%q: want true or false", k, v)
			}
		}
	}
	if dir == To {
		switch m := e.Attrs["mode"]; m {
		case "":
			e.Attrs["mode"] = "min" // buildx's default
		case "min", "max":
		default:
			return e, fmt.Errorf("mode=%q: want min or max", m)
		}
		if c, ok := e.Attrs["compression"]; ok {
			switch c {
			case "uncompressed", "gzip", "estargz", "zstd":
			default:
				return e, fmt.Errorf("compression=%q: want uncompressed, gzip, estargz or zstd", c)
			}
		}
	}
	switch e.Type {
	case Registry:
		ref := e.Attrs["ref"]
		if ref == "" {
			return e, fmt.Errorf("type=registry needs ref=REF")
		}
		if _, err := reference.ParseNormalizedNamed(ref); err != nil {
			return e, fmt.Errorf("ref=%q: %w", ref, err)
		}
	case Local:
		key := map[Direction]string{To: "dest", From: "src"}[dir]
		if e.Attrs[key] == "" {
			return e, fmt.Errorf("type=local needs %s=DIR", key)
		}
	case GHA:
		// The runner's environment, as buildx and buildctl read it.
		fromEnv(e.Attrs, "token", "ACTIONS_RUNTIME_TOKEN")
		fromEnv(e.Attrs, "url", "ACTIONS_CACHE_URL")
		fromEnv(e.Attrs, "url_v2", "ACTIONS_RESULTS_URL")
		if e.Attrs["token"] == "" || (e.Attrs["url"] == "" && e.Attrs["url_v2"] == "") {
			return e, fmt.Errorf("type=gha needs token= and url= (or $ACTIONS_RUNTIME_TOKEN and $ACTIONS_CACHE_URL, set in a GitHub Actions job)")
		}
	case S3:
		fromEnv(e.Attrs, "bucket", "AWS_BUCKET")
		fromEnv(e.Attrs, "region", "AWS_REGION")
		if e.Attrs["bucket"] == "" || e.Attrs["region"] == "" {
			return e, fmt.Errorf("type=s3 needs bucket= and region= (or $AWS_BUCKET and $AWS_REGION)")
		}
	}
	return e, nil
}

func fromEnv(attrs map[string]string, key, env string) {
	if attrs[key] == "" {
		if v := os.Getenv(env); v != "" {
			attrs[key] = v
		}
	}
}

// Check is what can be known of an entry before a build on this machine:
// that has reports the solver has its backend, and that the registry of a
// registry cache answers (reachable), unless ignore-error=true.
func Check(ctx context.Context, dir Direction, e client.CacheOptionsEntry, has func(string) bool, reachable func(context.Context, string) error) error {
	if !has(e.Type) {
		return fmt.Errorf("%s type=%s: the embedded solver has no %s cache backend (build builder with -tags cloudcache, or use a buildkitd with --addr)", dir, e.Type, e.Type)
	}
	if e.Type != Registry {
		return nil
	}
	if ignore, _ := strconv.ParseBool(e.Attrs["ignore-error"]); ignore {
		return nil
	}
	if err := reachable(ctx, e.Attrs["ref"]); err != nil {
		return fmt.Errorf("%s ref=%s: %w (ignore-error=true builds anyway)", dir, e.Attrs["ref"], err)
	}
	return nil
}
