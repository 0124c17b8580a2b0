package main

import (
	"fmt"
	"github.com/builder-dev/builder/internal/runtime"
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

// containerEnv is what every container verb needs: the state root and runc.
func containerEnv(c *cli.Context) (root string, rt runtime.Runtime, err error) {
	root, err = rootDir(c)
	if err != nil {
		return "", rt, err
	}
	runc, err := runtime.Find(func(msg string) { fmt.Fprintln(os.Stderr, "WARNING:", msg) })
	return root, runtime.ForContainers(runc, root), err
}

func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "List containers",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display container IDs"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.StringFlag{Name: "format", Usage: "format output: table, json, or a Go template"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "filter output: status=, name=, ancestor="},
		},
		Action: func(c *cli.Context) error {
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.List(c.Context, root, rt, container.ListOptions{All: c.Bool("all"), Quiet: c.Bool("quiet"),
				NoTrunc: c.Bool("no-trunc"), Format: c.String("format"), Filters: c.StringSlice("filter")}, os.Stdout)
		},
	}
}

func commitCommand() *cli.Command {
	return &cli.Command{
		Name:      "commit",
		Usage:     "Create a new image from a container's changes",
		ArgsUsage: "CONTAINER [REPOSITORY[:TAG]]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "commit message"},
			&cli.StringFlag{Name: "author", Aliases: []string{"a"}, Usage: `author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`},
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply Dockerfile instruction to the created image"},
			&cli.BoolFlag{Name: "pause", Aliases: []string{"p"}, Value: true, Usage: "pause container during commit"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageError(c, "requires at least 1 and at most 2 arguments")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			id, err := container.Commit(c.Context, st, container.CommitOptions{Container: c.Args().Get(0), Ref: c.Args().Get(1),
				Message: c.String("message"), Author: c.String("author"), Changes: c.StringSlice("change"),
				Pause: c.Bool("pause"), Runtime: rt, Root: root})
			if err != nil {
				return err
			}
			fmt.Println(id)
			return nil
		},
	}
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "Inspect changes to files or directories on a container's filesystem",
		ArgsUsage: "CONTAINER",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(c, "requires exactly 1 argument")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.Diff(c.Context, st, root, rt, c.Args().First(), os.Stdout)
		},
	}
}

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "Remove one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "force the removal of a running container (uses SIGKILL)"},
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "remove anonymous volumes (there are none yet)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.Remove(c.Context, st, root, rt, c.Args().Slice(), container.RemoveOptions{Force: c.Bool("force")}, os.Stdout)
		},
	}
}

// containerCommand is `builder container VERB`, docker's management form.
func containerCommand() *cli.Command {
	ls := psCommand()
	ls.Name, ls.Aliases = "ls", []string{"list", "ps"}
	prune := &cli.Command{
		Name:  "prune",
		Usage: "Remove all stopped containers",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"}},
		Action: func(c *cli.Context) error {
			if !c.Bool("force") && !confirm("WARNING! This will remove all stopped containers.") {
				return nil
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			root, rt, err := containerEnv(c)
			if err != nil {
				return err
			}
			return container.Prune(c.Context, st, root, rt, os.Stdout)
		},
	}
	return &cli.Command{
		Name:  "container",
		Usage: "Manage containers",
		Subcommands: []*cli.Command{ls, runCommand(), commitCommand(), diffCommand(), rmCommand(), prune, pauseCommand(), unpauseCommand(),
			logsCommand(), stopCommand(), killCommand(), startCommand(), execCommand(), exportCommand()},
	}
}
