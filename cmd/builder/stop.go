package main

import (
	"os"
	"time"

	"github.com/urfave/cli/v2"
)

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "Stop one or more running containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags:     []cli.Flag{&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before killing the container"}},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return usageError(c, "requires at least 1 argument")
			}
			m, err := containers(c)
			if err != nil {
				return err
			}
			return m.Stop(c.Context, c.Args().Slice(), time.Duration(c.Int("time"))*time.Second, os.Stdout)
		},
	}
}
