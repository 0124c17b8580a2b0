package main

import "github.com/urfave/cli/v2"

// containerCommand is `builder container VERB`, docker's management form.
func containerCommand() *cli.Command {
	ls := psCommand()
	ls.Name, ls.Aliases = "ls", []string{"list", "ps"}
	return &cli.Command{
		Name:  "container",
		Usage: "Manage containers",
		Subcommands: []*cli.Command{ls, runCommand(), commitCommand(), diffCommand(), rmCommand(), containerPruneCommand(),
			pauseCommand(), unpauseCommand(), portCommand(), containerInspectCommand(), logsCommand(), stopCommand(), killCommand(), startCommand(), execCommand(), exportCommand()},
	}
}
