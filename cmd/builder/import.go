package main

import (
	"os"

	"github.com/builder-dev/builder/images"
	"github.com/urfave/cli/v2"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "Import the contents from a tarball to create a filesystem image",
		ArgsUsage: "file|URL|- [REPOSITORY[:TAG]]",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply a Dockerfile instruction to the created image"},
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "set commit message for imported image"},
			&cli.StringFlag{Name: "platform", Usage: "set platform"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageError(c, "requires at least 1 and at most 2 arguments")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.Import(c.Context, st, images.ImportOptions{
				Source: c.Args().Get(0), Ref: c.Args().Get(1), Changes: c.StringSlice("change"),
				Message: c.String("message"), Platform: c.String("platform"), Stdin: os.Stdin, Stdout: os.Stdout,
			})
		},
	}
}
