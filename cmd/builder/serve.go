package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/builder-dev/builder/config"
	"github.com/builder-dev/builder/images"
	"github.com/builder-dev/builder/solver"
	"github.com/builder-dev/builder/store"
	"github.com/containerd/containerd/v2/core/content"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/urfave/cli/v2"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "Serve this root's solver over BuildKit's API, as buildkitd, for buildctl, buildx and builder --addr",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "addr", Usage: "listening address, repeatable: unix:///PATH, or tcp://HOST:PORT (needs --tlscacert, --tlscert, --tlskey, or for a loopback one --allow-unauthenticated-tcp); ROOT/solver.sock is always served"},
			&cli.BoolFlag{Name: "allow-unauthenticated-tcp", Usage: "serve a loopback tcp:// --addr without TLS, which lets every account on this machine build as this user"},
			&cli.StringFlag{Name: "tlscacert", Usage: "CA certificate: clients must present a certificate it signed"},
			&cli.StringFlag{Name: "tlscert", Usage: "server certificate"},
			&cli.StringFlag{Name: "tlskey", Usage: "server key"},
			&cli.DurationFlag{Name: "stop-timeout", Value: time.Minute, Usage: "on SIGTERM or Ctrl-C, how long running builds may go on before they are cancelled"},
		}, buildkitdFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError(c, "accepts no arguments")
			}
			bk, err := buildkitdOptions(c)
			if err != nil {
				return err
			}
			st, err := openStoreAt(bk.root)
			if err != nil {
				return err
			}
			root := bk.root
			cfg, err := config.Load(bk.config, root)
			if err != nil {
				return err
			}
			if bk.cdiDisabled != nil {
				cfg.CDI.Disabled = bk.cdiDisabled
			}
			if bk.cdiSpecDirs != nil {
				cfg.CDI.SpecDirs = bk.cdiSpecDirs
			}
			if bk.entitlements != nil {
				cfg.Entitlements = bk.entitlements
			}
			if !bk.gc {
				off := false
				cfg.GC.GC = &off
			}
			runc := bk.runc
			if runc == "" {
				if runc, err = findRunc(); err != nil {
					return err
				}
			}
			o := solver.ServeOptions{
				Options: solver.Options{Root: root, Registries: cfg.Registries, GC: cfg.GC, Runc: runc, Log: os.Stderr,
					Images: storeSink(st), WorkerLabels: bk.labels, Snapshotter: bk.snapshotter,
					Entitlements: cfg.Entitlements, History: cfg.History, CDI: cfg.CDI},
				Addrs:              c.StringSlice("addr"),
				TLS:                solver.TLSFiles{CACert: c.String("tlscacert"), Cert: c.String("tlscert"), Key: c.String("tlskey")},
				UnauthenticatedTCP: c.Bool("allow-unauthenticated-tcp"),
				StopTimeout:        c.Duration("stop-timeout"),
				Ready: func(addrs []string) {
					fmt.Fprintf(os.Stderr, "builder serve: pid %d, root %s, serving %s (stop with SIGTERM or Ctrl-C; running builds get %s to finish)\n",
						os.Getpid(), root, strings.Join(addrs, ", "), c.Duration("stop-timeout"))
				},
			}
			return solver.Serve(c.Context, o)
		},
	}
}

// storeSink names what clients of builder serve build with type=image in
// the root's store, as builder build does with its own.
func storeSink(st *store.Store) solver.ImageSink {
	return func(ctx context.Context, src content.Provider, name string, target ocispec.Descriptor) error {
		return images.Receive(ctx, st, src, name, target)
	}
}
