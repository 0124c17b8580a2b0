package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/builder-dev/builder/rootless"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
)

// buildkitdFlags are buildkitd's own flags that builder serve takes too, so
// that whatever starts a buildkitd (BuildKit's integration test harness, a
// service file) can start builder serve instead: `buildkitd ARGS` and
// `builder serve ARGS` mean the same. Those builder cannot honour are
// refused by name (buildkitdOptions); flags buildkitd has and these lack
// are refused by the flag parser, also by name.
func buildkitdFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Usage: "state directory (buildkitd's --root; default the global --root)"},
		&cli.StringFlag{Name: "config", Usage: "buildkitd.toml (buildkitd's --config; default the global --config)"},
		&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
		&cli.BoolFlag{Name: "oci-worker", Value: true, Usage: "buildkitd's: builder's worker is its OCI (runc) worker; false is refused"},
		&cli.BoolFlag{Name: "containerd-worker", Usage: "buildkitd's: builder has no containerd worker; true is refused"},
		&cli.BoolFlag{Name: "oci-worker-gc", Value: true, Usage: "collect the build cache (buildkitd's; false turns collection off)"},
		&cli.StringSliceFlag{Name: "oci-worker-labels", Usage: "extra worker labels, KEY=VALUE"},
		&cli.StringFlag{Name: "oci-worker-snapshotter", Value: "auto", Usage: "auto (overlayfs where the root supports it), overlayfs or native"},
		&cli.StringFlag{Name: "oci-worker-binary", Usage: "runc binary for RUN steps (default: the pinned runc beside builder)"},
		&cli.BoolFlag{Name: "cdi-disabled", Usage: "turn off Container Device Interface devices for RUN --device (buildkitd's)"},
		&cli.StringSliceFlag{Name: "cdi-spec-dir", Usage: "directory to read CDI specs from (buildkitd's; replaces the config's [cdi] specDirs)"},
		&cli.StringSliceFlag{Name: "allow-insecure-entitlement", Usage: "allow builds an insecure entitlement: network.host, security.insecure, device (replaces the config's insecure-entitlements)"},
	}
}

// serveFlags are builder serve's settings from buildkitd's flags.
type serveFlags struct {
	root, config, runc, snapshotter string
	gc                              bool
	labels                          map[string]string
	entitlements                    []string // nil: the config's
	cdiDisabled                     *bool    // nil: the config's
	cdiSpecDirs                     []string // nil: the config's
}

func buildkitdOptions(c *cli.Context) (serveFlags, error) {
	parent := c.Lineage()[1] // the global flags
	f := serveFlags{root: c.String("root"), config: c.String("config"), runc: c.String("oci-worker-binary"),
		snapshotter: c.String("oci-worker-snapshotter"), gc: c.Bool("oci-worker-gc")}
	var err error
	if f.root == "" {
		if f.root, err = rootDir(parent); err != nil {
			return f, err
		}
	} else if f.root, err = filepath.Abs(f.root); err != nil {
		return f, err
	} else if err := rootless.CheckOwner(f.root); err != nil {
		return f, err
	}
	if f.config == "" {
		f.config = parent.String("config")
	}
	if !c.Bool("oci-worker") {
		return f, fmt.Errorf("--oci-worker=false is not supported: builder's worker is its OCI (runc) worker")
	}
	if c.Bool("containerd-worker") {
		return f, fmt.Errorf("--containerd-worker=true is not supported: builder has no containerd worker")
	}
	switch f.snapshotter {
	case "auto", "overlayfs", "native":
	default:
		return f, fmt.Errorf("--oci-worker-snapshotter %s is not supported: auto, overlayfs or native", f.snapshotter)
	}
	for _, l := range c.StringSlice("oci-worker-labels") {
		for _, kv := range strings.Split(l, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return f, fmt.Errorf("--oci-worker-labels %q: want KEY=VALUE", l)
			}
			if f.labels == nil {
				f.labels = map[string]string{}
			}
			f.labels[k] = v
		}
	}
	for _, e := range c.StringSlice("allow-insecure-entitlement") {
		switch e {
		case "network.host", "security.insecure", "device":
			f.entitlements = append(f.entitlements, e)
		default:
			return f, fmt.Errorf("--allow-insecure-entitlement %s: not an entitlement (network.host, security.insecure, device)", e)
		}
	}
	if c.IsSet("cdi-disabled") {
		d := c.Bool("cdi-disabled")
		f.cdiDisabled = &d
	}
	if c.IsSet("cdi-spec-dir") {
		f.cdiSpecDirs = c.StringSlice("cdi-spec-dir")
	}
	if c.Bool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	return f, nil
}
