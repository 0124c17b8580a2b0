package main

import (
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "Execute a command in a running container",
		ArgsUsage: "CONTAINER COMMAND [ARG...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep STDIN open"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "username or UID (format: \"<name|uid>[:<group|gid>]\")"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return usageError(c, "requires at least 2 arguments")
			}
			m, err := containers(c)
			if err != nil {
				return container.RunFailed(err)
			}
			return m.Exec(c.Context, container.ExecOptions{Container: c.Args().First(), Args: c.Args().Slice()[1:],
				Interactive: c.Bool("interactive"), TTY: c.Bool("tty"), Env: c.StringSlice("env"), Workdir: c.String("workdir"),
				User: c.String("user"), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
		},
	}
}
