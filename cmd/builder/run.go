package main

import (
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/builder-dev/builder/registry"
	"github.com/urfave/cli/v2"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "Create and run a new container from an image",
		ArgsUsage: "IMAGE [COMMAND] [ARG...]",
		Flags:     runFlags(),
		HideHelp:  true,
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				// A usage error is docker's exit 1, not run's 125.
				return usageError(c, "requires at least 1 argument")
			}
			policy, err := registry.ParsePullPolicy(c.String("pull"))
			if err != nil {
				return container.RunFailed(err)
			}
			// Flags are checked before anything is pulled or created.
			if err := container.CheckNetwork(c.String("network"), c.StringSlice("publish"), c.Bool("publish-all")); err != nil {
				return container.RunFailed(err)
			}
			m, err := openContainers(c)
			if err != nil {
				return container.RunFailed(err)
			}
			// As docker run: an image the store lacks is pulled first, with
			// pull's progress on stderr.
			if err := pullForRun(c, m, c.Args().First(), policy); err != nil {
				return container.RunFailed(err)
			}
			opts := container.RunOptions{
				Image:       c.Args().First(),
				Args:        c.Args().Slice()[1:],
				Name:        c.String("name"),
				Env:         c.StringSlice("env"),
				EnvFiles:    c.StringSlice("env-file"),
				Workdir:     c.String("workdir"),
				User:        c.String("user"),
				Volumes:     c.StringSlice("volume"),
				Network:     c.String("network"),
				Publish:     c.StringSlice("publish"),
				PublishAll:  c.Bool("publish-all"),
				Hostname:    c.String("hostname"),
				ReadOnly:    c.Bool("read-only"),
				Interactive: c.Bool("interactive"),
				TTY:         c.Bool("tty"),
				Remove:      c.Bool("rm"),
				Detach:      c.Bool("detach"),
				Platform:    c.String("platform"),
				Stdin:       os.Stdin,
				Stdout:      os.Stdout,
				Stderr:      os.Stderr,
			}
			if c.IsSet("entrypoint") {
				ep := c.String("entrypoint")
				opts.Entrypoint = &ep
			}
			return m.Run(c.Context, opts)
		},
	}
}

func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "rm", Usage: "automatically remove the container when it exits"},
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep STDIN open"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
		&cli.StringFlag{Name: "name", Usage: "assign a name to the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"},
		&cli.StringSliceFlag{Name: "env-file", Usage: "read in a file of environment variables"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "username or UID (format: <name|uid>[:<group|gid>])"},
		&cli.StringFlag{Name: "entrypoint", Usage: "overwrite the default ENTRYPOINT of the image"},
		&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind mount a volume (HOST:CONTAINER[:ro])"},
		&cli.StringFlag{Name: "network", Value: "default", Usage: "connect a container to a network: bridge (the default, builder0), host or none"},
		&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a container's port(s) to the host ([IP:][HOSTPORT:]CONTAINERPORT[/PROTO])"},
		&cli.BoolFlag{Name: "publish-all", Aliases: []string{"P"}, Usage: "publish all exposed ports to free host ports"},
		&cli.StringFlag{Name: "hostname", Aliases: []string{"h"}, Usage: "container host name"},
		&cli.BoolFlag{Name: "read-only", Usage: "mount the container's root filesystem as read only"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run the container in the background and print its ID"},
		&cli.StringFlag{Name: "platform", Usage: "run this platform's image of a multi-platform image (os/arch[/variant]), under emulation if foreign"},
		&cli.StringFlag{Name: "pull", Value: string(registry.PullMissing), Usage: `pull the image before running: "always", "missing" (when the store lacks it) or "never"`},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the pull output"},
		// -h is --hostname here, as in docker run; help is --help only.
		&cli.BoolFlag{Name: "help", Usage: "show help"},
	}
}

// pullForRun pulls image for a container as policy says (registry.Ensure).
func pullForRun(c *cli.Context, m container.Manager, image string, policy registry.PullPolicy) error {
	client := func() (*registry.Client, error) { return registryClient(c, m.Root) }
	return registry.Ensure(c.Context, m.Store, image, policy, client,
		registry.PullOptions{Platform: c.String("platform"), Quiet: c.Bool("quiet")}, os.Stderr)
}
