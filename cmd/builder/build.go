package main

import (
	"context"

	"os"

	"github.com/builder-dev/builder/cache"
	"github.com/builder-dev/builder/fleet"
	"github.com/builder-dev/builder/solver"
	"github.com/moby/buildkit/client"

	"github.com/builder-dev/builder/frontend"
	"github.com/urfave/cli/v2"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "Build an image from a Dockerfile",
		ArgsUsage: "PATH",
		Flags:     append(buildFlags(), dockerBuildFlags()...),
		Action:    build,
	}
}

func buildFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "name of the Dockerfile (default PATH/Dockerfile; - for stdin)"},
		&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "name and optionally a tag (name:tag)"},
		&cli.StringSliceFlag{Name: "build-arg", Usage: "set a build-time variable"},
		&cli.StringFlag{Name: "target", Usage: "build stage to build"},
		&cli.BoolFlag{Name: "no-cache", Usage: "do not use cache when building the image"},
		&cli.BoolFlag{Name: "pull", Usage: "always resolve base images from their registry"},
		&cli.StringFlag{Name: "platform", Usage: "target platform (one)"},
		&cli.StringSliceFlag{Name: "label", Usage: "set metadata for an image"},
		&cli.StringSliceFlag{Name: "secret", Usage: `secret to expose to the build ("id=mysecret,src=/local/secret")`},
		&cli.StringSliceFlag{Name: "ssh", Usage: `SSH agent socket or keys to expose ("default|<id>[=<socket>|<key>[,<key>]]")`},
		&cli.StringFlag{Name: "network", Value: "default", Usage: "networking mode for RUN: default, host, none"},
		&cli.StringFlag{Name: "iidfile", Usage: "write the image ID to the file"},
		&cli.StringFlag{Name: "metadata-file", Usage: "write build result metadata to the file"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the build output and print the image ID on success"},
		&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: `output destination ("type=docker,dest=f.tar", type=oci|local|tar|image|registry)`},
		&cli.BoolFlag{Name: "push", Usage: "also push the image to its registry"},
		&cli.StringSliceFlag{Name: "annotation", Usage: `add an annotation to the image ("KEY=VALUE", or "manifest|index|manifest-descriptor|index-descriptor[PLATFORM],...:KEY=VALUE")`},
		&cli.StringFlag{Name: "provenance", Usage: `provenance attestation: true, false, or "mode=min|max" (default mode=min, as buildx; BUILDX_NO_DEFAULT_ATTESTATIONS=1 turns it off)`},
		&cli.StringFlag{Name: "sbom", Usage: `SBOM attestation: true, false, or "generator=IMAGE"`},
		&cli.StringSliceFlag{Name: "attest", Usage: `attestation ("type=provenance,mode=max", "type=sbom,generator=IMAGE")`},
		&cli.StringSliceFlag{Name: "build-context", Usage: `additional build context ("name=path", docker-image://REF, oci-layout://PATH[:TAG][@DIGEST], a git or http(s) URL)`},
		&cli.StringSliceFlag{Name: "cache-to", Usage: `cache export destination ("type=registry,ref=REF,mode=max", type=local,dest=DIR, type=inline, gha, s3)`},
		&cli.StringSliceFlag{Name: "cache-from", Usage: `cache import source ("type=registry,ref=REF", type=local,src=DIR, gha, s3, or a bare REF)`},
		&cli.StringFlag{Name: "progress", Usage: "progress output: auto, tty, plain, quiet, rawjson (default auto, or $BUILDKIT_PROGRESS)"},
		&cli.StringFlag{Name: "dump-llb", Usage: "print the build's LLB graph and build nothing: json (buildctl debug dump-llb's lines) or dot (Graphviz)"},
	}
}

// buildOptions are the build's flags and argument.
func buildOptions(c *cli.Context) frontend.BuildOptions {
	return frontend.BuildOptions{
		ContextDir:    c.Args().First(),
		Dockerfile:    c.String("file"),
		Stdin:         os.Stdin,
		Tags:          c.StringSlice("tag"),
		BuildArgs:     c.StringSlice("build-arg"),
		Labels:        c.StringSlice("label"),
		Target:        c.String("target"),
		Platform:      c.String("platform"),
		NoCache:       c.Bool("no-cache"),
		NoCacheFilter: c.StringSlice("no-cache-filter"),
		Steps: frontend.StepOptions{AddHosts: c.StringSlice("add-host"), ShmSize: c.String("shm-size"),
			Ulimits: c.StringSlice("ulimit"), CgroupParent: c.String("cgroup-parent")},
		Pull:          c.Bool("pull"),
		Network:       c.String("network"),
		Secrets:       c.StringSlice("secret"),
		SSH:           c.StringSlice("ssh"),
		Outputs:       outputsWithLoad(c),
		Push:          c.Bool("push"),
		Annotations:   c.StringSlice("annotation"),
		BuildContexts: c.StringSlice("build-context"),
		Attest:        frontend.AttestOptions{Provenance: c.String("provenance"), SBOM: c.String("sbom"), Attest: c.StringSlice("attest")},
		CacheTo:       c.StringSlice("cache-to"),
		CacheFrom:     c.StringSlice("cache-from"),
		IIDFile:       c.String("iidfile"),
		MetadataFile:  c.String("metadata-file"),
		Quiet:         c.Bool("quiet"),
		Progress:      c.String("progress"),
		DumpLLB:       c.String("dump-llb"),
	}
}

// build runs frontend.Build, or fleet.Build with several --addr.
func build(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError(c, "requires exactly 1 argument (the build context: a directory, a git or http(s) URL, or - for stdin)")
	}
	if err := checkDockerBuildFlags(c); err != nil {
		return err
	}
	opts := buildOptions(c)
	st, root, err := openStore(c)
	if err != nil {
		return err
	}
	env := frontend.BuildEnv{
		OpenSolver: func(ctx context.Context) (*solver.Solver, error) { return openSolver(ctx, c, root) },
		Store:      st, Stdout: os.Stdout, Stderr: os.Stderr,
	}
	// Only a build with a cache to check reads the registry config
	// here (the solver reads it too, for itself).
	if addrs := c.StringSlice("addr"); len(addrs) > 1 {
		reg, err := registryClient(c, root)
		if err != nil {
			return err
		}
		return fleet.Build(c.Context, fleet.BuildOptions{
			Addrs: addrs, Build: opts, Env: env, Registry: reg,
			Open: func(ctx context.Context, addr string) (*solver.Solver, error) {
				return openSolverAt(ctx, c, root, addr)
			},
		})
	}
	if len(c.StringSlice("addr")) == 0 && len(opts.CacheTo)+len(opts.CacheFrom) > 0 {
		reg, err := registryClient(c, root)
		if err != nil {
			return err
		}
		env.CheckCache = func(ctx context.Context, dir cache.Direction, e client.CacheOptionsEntry) error {
			return cache.Check(ctx, dir, e, solver.EmbeddedCaches, reg.Reachable)
		}
	}
	_, err = frontend.Build(c.Context, env, opts)
	a, _ := addr(c)
	return solver.NameLost(err, a)
}
