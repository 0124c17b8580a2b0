package main

import (
	"fmt"

	"github.com/builder-dev/builder/container"
	"github.com/urfave/cli/v2"
)

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
			m, err := openContainers(c)
			if err != nil {
				return err
			}
			id, err := m.Commit(c.Context, container.CommitOptions{Container: c.Args().Get(0), Ref: c.Args().Get(1),
				Message: c.String("message"), Author: c.String("author"), Changes: c.StringSlice("change"),
				Pause: c.Bool("pause")})
			if err != nil {
				return err
			}
			fmt.Println(id)
			return nil
		},
	}
}
