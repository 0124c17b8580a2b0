package main

import (
	"errors"
	"os"

	"github.com/builder-dev/builder/container"
	"github.com/builder-dev/builder/solver"
	"github.com/urfave/cli/v2"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "Run a command in a new container",
		ArgsUsage: "IMAGE [COMMAND] [ARG...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "rm", Usage: "automatically remove the container when it exits"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return &exitError{code: container.ExitBuilderError, err: usageError(c, "requires at least 1 argument")}
			}
			st, root, err := openStore(c)
			if err != nil {
				return &exitError{code: container.ExitBuilderError, err: err}
			}
			runc, err := solver.FindRunc(func(msg string) { os.Stderr.WriteString("WARNING: " + msg + "\n") })
			if err != nil {
				return &exitError{code: container.ExitBuilderError, err: err}
			}
			code, err := container.Run(c.Context, st, container.RunOptions{
				Image:  c.Args().First(),
				Args:   c.Args().Slice()[1:],
				Remove: c.Bool("rm"),
				Runc:   runc,
				Root:   root,
				Stdin:  os.Stdin,
				Stdout: os.Stdout,
				Stderr: os.Stderr,
			})
			var ce *container.Error
			if errors.As(err, &ce) {
				return &exitError{code: ce.Code, err: ce.Err}
			}
			if err != nil {
				return &exitError{code: container.ExitBuilderError, err: err}
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}
