package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a command's flags that follow its positional arguments
// in front of them, so `builder save IMAGE -o FILE` parses as docker's
// (cobra) parser does; urfave/cli stops at the first positional argument.
// Commands whose trailing arguments are another program's (run) are left
// alone (run, exec), and so is everything after "--".
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	// Global flags, up to the command name.
	n := leadingFlags(app.Flags, rest)
	out = append(out, rest[:n]...)
	rest = rest[n:]
	cmds := app.Commands
	var cmd *cli.Command
	for len(rest) > 0 {
		c := findCommand(cmds, rest[0])
		if c == nil {
			break
		}
		cmd = c
		out = append(out, rest[0])
		rest = rest[1:]
		if len(c.Subcommands) == 0 {
			break
		}
		cmds = c.Subcommands
	}
	if cmd == nil || cmd.Name == "run" || cmd.Name == "exec" {
		return append(out, rest...)
	}
	var flags, positional []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i:]...)
			break
		}
		if len(a) > 1 && strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			if takesValue(cmd.Flags, a) && i+1 < len(rest) {
				flags = append(flags, rest[i+1])
				i++
			}
			continue
		}
		positional = append(positional, a)
	}
	return append(append(out, flags...), positional...)
}

// leadingFlags counts the arguments that are flags of fs (and their values).
func leadingFlags(fs []cli.Flag, args []string) int {
	i := 0
	for i < len(args) && len(args[i]) > 1 && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		if takesValue(fs, args[i]) {
			i++
		}
		i++
	}
	if i > len(args) {
		return len(args)
	}
	return i
}

// takesValue reports whether arg ("-o", "--output", not "--output=x") names
// a flag of fs that takes a separate value.
func takesValue(fs []cli.Flag, arg string) bool {
	if strings.Contains(arg, "=") {
		return false
	}
	name := strings.TrimLeft(arg, "-")
	for _, f := range fs {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
