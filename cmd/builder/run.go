package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "Run a command in a new container",
		Action: func(c *cli.Context) error {
			return fmt.Errorf("not implemented yet")
		},
	}
}
