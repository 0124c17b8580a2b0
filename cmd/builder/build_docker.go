package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// refusedBuildFlag is a flag of docker's `docker build` (the legacy
// builder's, or buildx's) that builder cannot honour. It is parsed, so
// that a docker user's command line does not fail on an unknown flag, and
// refused by name with the reason: never silently ignored.
type refusedBuildFlag struct {
	name, alias string
	takesValue  bool
	why         string
}

func refusedBuildFlags() []refusedBuildFlag {
	const legacy = "it sets the legacy builder's container resources; BuildKit (and so builder, as buildx) has no such setting"
	return []refusedBuildFlag{
		{name: "compress", why: "the context is sent uncompressed over a local session; there is nothing to compress"},
		{name: "cpu-period", takesValue: true, why: legacy},
		{name: "cpu-quota", takesValue: true, why: legacy},
		{name: "cpu-shares", alias: "c", takesValue: true, why: legacy},
		{name: "cpuset-cpus", takesValue: true, why: legacy},
		{name: "cpuset-mems", takesValue: true, why: legacy},
		{name: "memory", alias: "m", takesValue: true, why: legacy},
		{name: "memory-swap", takesValue: true, why: legacy},
		{name: "isolation", takesValue: true, why: "isolation modes are for Windows containers"},
		{name: "security-opt", takesValue: true, why: "RUN's security profile is BuildKit's default; use RUN --security=insecure with a buildkitd that allows it"},
		{name: "squash", why: "squashing layers is the legacy builder's experimental feature; use a multi-stage build (FROM scratch, COPY --from)"},
		{name: "stream", why: "the context is always streamed"},
		{name: "call", takesValue: true, why: "frontend subrequests (buildx --call) are not supported"},
		{name: "check", why: "build checks (buildx --check) are not supported"},
	}
}

// dockerBuildFlags are docker build's flags that builder accepts for a
// docker user's command line: those it honours under docker's name (see
// checkDockerBuildFlags), those that change nothing here, and, hidden, the
// refused ones.
func dockerBuildFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "add-host", Usage: `add a custom host-to-IP mapping for RUN ("host:ip")`},
		&cli.StringFlag{Name: "shm-size", Usage: `size of /dev/shm for RUN ("64m")`},
		&cli.StringSliceFlag{Name: "ulimit", Usage: `ulimit for RUN ("nofile=1024:2048")`},
		&cli.StringFlag{Name: "cgroup-parent", Usage: "parent cgroup for RUN"},
		&cli.StringSliceFlag{Name: "no-cache-filter", Usage: "do not cache the named stages"},
		&cli.BoolFlag{Name: "load", Usage: "put the image into builder's store (buildx's -o type=docker; the default without -o)"},
		&cli.StringSliceFlag{Name: "allow", Usage: "allow an entitlement: network.host (granted to every build)"},
		&cli.StringFlag{Name: "builder", Usage: `buildx builder instance: only "default" (use --addr for a remote buildkitd)`},
		&cli.BoolFlag{Name: "rm", Value: true, Usage: "no effect: builder leaves no intermediate containers (docker compatibility)"},
		&cli.BoolFlag{Name: "force-rm", Usage: "no effect: builder leaves no intermediate containers (docker compatibility)"},
		&cli.BoolFlag{Name: "disable-content-trust", Value: true, Usage: "no effect: content trust is not verified (docker compatibility; false is refused)"},
	}
	for _, r := range refusedBuildFlags() {
		var aliases []string
		if r.alias != "" {
			aliases = []string{r.alias}
		}
		if r.takesValue {
			flags = append(flags, &cli.StringSliceFlag{Name: r.name, Aliases: aliases, Hidden: true})
		} else {
			flags = append(flags, &cli.BoolFlag{Name: r.name, Aliases: aliases, Hidden: true})
		}
	}
	return flags
}

// checkDockerBuildFlags refuses, by name and with the reason, each docker
// build flag given that builder cannot honour.
func checkDockerBuildFlags(c *cli.Context) error {
	for _, r := range refusedBuildFlags() {
		if c.IsSet(r.name) {
			return fmt.Errorf("--%s is not supported: %s", r.name, r.why)
		}
	}
	for _, a := range c.StringSlice("allow") {
		if a != "network.host" {
			return fmt.Errorf("--allow %s is not supported: builder grants network.host only", a)
		}
	}
	if b := c.String("builder"); b != "" && b != "default" {
		return fmt.Errorf("--builder %s: builder has no buildx builder instances; use --addr to build on a remote buildkitd", b)
	}
	if c.IsSet("disable-content-trust") && !c.Bool("disable-content-trust") {
		return fmt.Errorf("--disable-content-trust=false is not supported: builder does not verify content trust signatures")
	}
	return nil
}

// outputsWithLoad is -o's values with --load's type=docker (the store), as
// buildx treats --load.
func outputsWithLoad(c *cli.Context) []string {
	outs := c.StringSlice("output")
	if !c.Bool("load") {
		return outs
	}
	for _, o := range outs {
		if strings.TrimSpace(o) == "type=docker" {
			return outs
		}
	}
	return append(outs, "type=docker")
}
