package main

import (
	"os"

	"github.com/builder-dev/builder/cache"
	"github.com/builder-dev/builder/diskusage"
	"github.com/urfave/cli/v2"
)

// systemDFCommand is `builder system df`.
func systemDFCommand() *cli.Command {
	return &cli.Command{
		Name:  "df",
		Usage: "Show disk usage",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show detailed information on space usage"}},
		Action: func(c *cli.Context) error {
			m, err := openContainers(c)
			if err != nil {
				return err
			}
			s, err := openSolver(c.Context, c, m.Root)
			if err != nil {
				return err
			}
			defer s.Close()
			bc, err := cache.DiskUsage(c.Context, s.Client)
			if err != nil {
				return err
			}
			return diskusage.Report(c.Context, diskusage.Sources{Store: m.Store, Containers: m, Cache: bc}, c.Bool("verbose"), os.Stdout)
		},
	}
}
