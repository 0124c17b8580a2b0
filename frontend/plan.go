package frontend

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/builder-dev/builder/cache"
	"github.com/builder-dev/builder/exporter"
	"github.com/builder-dev/builder/internal/userperm"
	"github.com/builder-dev/builder/progress"
	"github.com/builder-dev/builder/store"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
)

// plan is a build's second stage: the flags that say what to make and
// where it goes, each parsed and checked once, before a solver is opened.
type plan struct {
	tags               []string // store names
	specs              []exporter.Spec
	annotations        map[string]string // as exporter attributes
	cacheTo, cacheFrom []client.CacheOptionsEntry
	// attrs are the Dockerfile frontend's attributes: args, labels,
	// target, platforms, attestations, where the context comes from.
	attrs map[string]string
	// platforms are --platform's, parsed ("" for this machine's).
	platforms []string
	progress  progressui.DisplayMode
}

// multiPlatform reports whether the build makes an image index.
func (pl *plan) multiPlatform() bool { return len(pl.platforms) > 1 }

// makePlan parses o's flags for a build of in.
func makePlan(o BuildOptions, in *input) (_ *plan, err error) {
	pl := &plan{}
	if err := checkDestinations(o); err != nil {
		return nil, err
	}
	for _, t := range o.Tags {
		name, err := store.ParseName(t)
		if err != nil {
			return nil, fmt.Errorf("-t: %w", err)
		}
		pl.tags = append(pl.tags, name)
	}
	for _, s := range o.Outputs {
		sp, err := exporter.Parse(s)
		if err != nil {
			return nil, err
		}
		pl.specs = append(pl.specs, sp)
	}
	if pl.annotations, err = exporter.ParseAnnotations(o.Annotations); err != nil {
		return nil, err
	}
	if pl.cacheTo, err = cache.ParseOptions(cache.To, o.CacheTo); err != nil {
		return nil, err
	}
	if pl.cacheFrom, err = cache.ParseOptions(cache.From, o.CacheFrom); err != nil {
		return nil, err
	}
	if o.Platform != "" {
		if pl.platforms, err = ParsePlatforms(o.Platform); err != nil {
			return nil, err
		}
	}
	if pl.attrs, err = frontendAttrs(o, in, pl.platforms, exporter.Published(pl.specs, o.Push)); err != nil {
		return nil, err
	}
	if pl.progress, err = progress.Mode(o.Progress); err != nil {
		return nil, err
	}
	if o.Quiet {
		pl.progress = progressui.QuietMode
	}
	return pl, nil
}

// checkDestinations refuses, before anything is built, files the build
// could not write (as the user, not as root in the user namespace) and
// --dump-llb with outputs.
func checkDestinations(o BuildOptions) error {
	for flag, path := range map[string]string{"--iidfile": o.IIDFile, "--metadata-file": o.MetadataFile} {
		if path != "" {
			if err := userperm.WriteFile(path); err != nil {
				return fmt.Errorf("%s: %w", flag, err)
			}
		}
	}
	switch o.DumpLLB {
	case "", "json", "dot":
	default:
		return fmt.Errorf("--dump-llb %q: want json or dot", o.DumpLLB)
	}
	if o.DumpLLB != "" && (len(o.Outputs) > 0 || o.Push) {
		return errors.New("--dump-llb builds nothing: it cannot be combined with -o or --push")
	}
	return nil
}

// frontendAttrs are the Dockerfile frontend's attributes for o's flags.
func frontendAttrs(o BuildOptions, in *input, platforms []string, published bool) (map[string]string, error) {
	args, err := buildArgs(o.BuildArgs)
	if err != nil {
		return nil, err
	}
	labels, err := keyValues("--label", o.Labels, false)
	if err != nil {
		return nil, err
	}
	attrs, err := Attrs(in.dockerfile, AttrOptions{Filename: in.filename, Target: o.Target, Platforms: platforms,
		BuildArgs: args, Labels: labels, NoCache: o.NoCache, NoCacheFilter: o.NoCacheFilter, Pull: o.Pull, Network: o.Network,
		Steps: o.Steps})
	if err != nil {
		return nil, err
	}
	attests, err := attestAttrs(o.Attest, published)
	if err != nil {
		return nil, err
	}
	for k, v := range attests {
		attrs[k] = v
	}
	if in.contextURL != "" {
		attrs["context"] = in.contextURL
		if in.dockerfileDir != "" {
			// The Dockerfile comes from here, not from the fetched context.
			attrs["dockerfilekey"] = "dockerfile"
		}
	}
	return attrs, nil
}

// buildArgs parses --build-arg, with SOURCE_DATE_EPOCH from the
// environment unless given, as buildx reads it for reproducible builds.
func buildArgs(values []string) (map[string]string, error) {
	args, err := keyValues("--build-arg", values, true)
	if err != nil {
		return nil, err
	}
	if _, ok := args["SOURCE_DATE_EPOCH"]; !ok {
		if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok && v != "" {
			args["SOURCE_DATE_EPOCH"] = v
		}
	}
	if v, ok := args["SOURCE_DATE_EPOCH"]; ok {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return nil, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since the epoch", v)
		}
	}
	return args, nil
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
