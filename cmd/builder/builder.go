package main

import "github.com/urfave/cli/v2"

// builderCommand is `builder builder VERB`, docker's name for the build
// cache's management command.
func builderCommand() *cli.Command {
	return &cli.Command{
		Name:        "builder",
		Usage:       "Manage builds",
		Subcommands: []*cli.Command{builderPruneCommand(), duCommand()},
	}
}
