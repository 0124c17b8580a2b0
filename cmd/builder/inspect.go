package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/builder-dev/builder/container"
	"github.com/builder-dev/builder/format"
	"github.com/builder-dev/builder/images"
	"github.com/builder-dev/builder/store"
	"github.com/urfave/cli/v2"
)

// inspectCommand is docker's `inspect`: each name is looked up among
// containers, then images (or the one --type names), and the objects found
// are printed as one JSON array (or --format applied to each). A name found
// nowhere is an error after the others are printed, as docker's.
func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "Return low-level information on containers and images",
		ArgsUsage: "NAME|ID [NAME|ID...]",
		Flags:     inspectFlags(&cli.StringFlag{Name: "type", Usage: "only this type of object: container or image"}),
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			typ := c.String("type")
			if typ != "" && typ != "container" && typ != "image" {
				return fmt.Errorf("%q is not a valid value for --type", typ)
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			var m *container.Manager
			if typ != "image" {
				cm, err := containers(c)
				if err != nil {
					return err
				}
				m = &cm
			}
			out := []any{} // docker prints [] when nothing is found
			var missing []string
			for _, ref := range c.Args().Slice() {
				if m != nil {
					in, err := m.InspectOne(c.Context, ref)
					if err == nil {
						out = append(out, in)
						continue
					}
					if !errors.Is(err, container.ErrNoSuchContainer) {
						return err
					}
				}
				if typ != "container" {
					ii, err := images.InspectOne(c.Context, st, ref, c.String("platform"))
					if err == nil {
						out = append(out, ii)
						continue
					}
					var nsi *store.NoSuchImage
					if !errors.As(err, &nsi) {
						return err
					}
				}
				what := "object"
				if typ != "" {
					what = typ
				}
				missing = append(missing, fmt.Sprintf("No such %s: %s", what, ref))
			}
			if err := format.Inspect(os.Stdout, c.String("format"), out); err != nil {
				return err
			}
			if len(missing) > 0 {
				return errors.New(strings.Join(missing, "\nError: "))
			}
			return nil
		},
	}
}

// imageInspectCommand is `image inspect`: images only.
func imageInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "Display detailed information on one or more images",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags:     inspectFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			st, _, err := openStore(c)
			if err != nil {
				return err
			}
			return images.Inspect(c.Context, st, c.Args().Slice(), c.String("platform"), c.String("format"), os.Stdout)
		},
	}
}

// inspectFlags are inspect's and image inspect's: --format, --platform and
// extra.
func inspectFlags(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format output with a Go template, or json"},
		&cli.StringFlag{Name: "platform", Usage: "inspect this platform's image of a multi-platform image (os/arch[/variant])"},
	}, extra...)
}
