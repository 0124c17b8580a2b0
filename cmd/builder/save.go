package main

import (
	"os"

	"github.com/builder-dev/builder/images"
	"github.com/urfave/cli/v2"
)

func saveCommand() *cli.Command {
	return &cli.Command{
		Name:      "save",
		Usage:     "Save one or more images to a tar archive (streamed to STDOUT by default)",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a file, instead of STDOUT"},
			&cli.StringFlag{Name: "format", Value: "docker", Usage: "archive format: docker (docker-archive) or oci"},
			&cli.StringFlag{Name: "platform", Usage: "save only the given platform"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.Save(c.Context, st, c.Args().Slice(), images.SaveOptions{
				Output: c.String("output"), Format: c.String("format"), Platform: c.String("platform"), Stdout: os.Stdout,
			})
		},
	}
}
