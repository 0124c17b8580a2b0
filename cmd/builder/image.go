package main

import (
	"github.com/urfave/cli/v2"
)

// imageCommand is `builder image VERB`, docker's management-command form.
func imageCommand() *cli.Command {
	ls := imagesCommand()
	ls.Name, ls.Aliases = "ls", []string{"list"}
	rm := rmiCommand()
	rm.Name, rm.Aliases = "rm", []string{"remove"}
	return &cli.Command{
		Name:  "image",
		Usage: "Manage images",
		Subcommands: []*cli.Command{ls, buildCommand(), rm, tagCommand(), imageInspectCommand(), historyCommand(),
			saveCommand(), loadCommand(), importCommand(), pullCommand(), pushCommand(), imagePruneCommand()},
	}
}
