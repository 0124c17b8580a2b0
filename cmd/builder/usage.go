package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// usageError is docker's wrong-arguments message; exit status 1 as docker's.
func usageError(c *cli.Context, msg string) error {
	return fmt.Errorf("%q %s.\nSee '%s %s --help'.", c.App.Name+" "+c.Command.Name, msg, c.App.Name, c.Command.Name)
}

// confirm asks docker's question on stdout and reads the answer.
func confirm(warning string) bool {
	fmt.Printf("%s\nAre you sure you want to continue? [y/N] ", warning)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	if answer != "y" && answer != "yes" {
		fmt.Println()
		return false
	}
	return true
}
