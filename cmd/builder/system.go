package main

import "github.com/urfave/cli/v2"

// systemCommand is `builder system VERB`.
func systemCommand() *cli.Command {
	return &cli.Command{
		Name:        "system",
		Usage:       "Manage builder",
		Subcommands: []*cli.Command{systemDFCommand()},
	}
}
