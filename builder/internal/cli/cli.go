//go:build !js

package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// Group says where a command appears in the command list.
type Group int

const (
	// Product commands make, read and serve a shop's assets.
	Product Group = iota
	// Evaluation commands measure quality on held-out photos and
	// (simulated) shoppers; nothing they write is deployed.
	Evaluation
)

var groupTitles = map[Group]string{Product: "commands", Evaluation: "evaluation commands"}

// Command is one subcommand: `go run ./builder NAME args…`.
type Command struct {
	Name    string
	Summary string // one line for the command list
	Group   Group
	// Run parses args with Parse and runs the command. Returning
	// flag.ErrHelp (Parse does after printing the help) exits 0; a
	// *UsageError exits 2 with a hint to the command's help.
	Run func(args []string) error
}

var commands = map[string]Command{}

// Register adds a command. Called from init(); panics on a duplicate name.
func Register(g Group, name, summary string, run func(args []string) error) {
	if _, dup := commands[name]; dup {
		panic("builder: duplicate command " + name)
	}
	commands[name] = Command{Name: name, Summary: summary, Group: g, Run: run}
}

// Commands lists the registered commands by group, then name.
func Commands() []Command {
	out := make([]Command, 0, len(commands))
	for _, c := range commands {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// helpOutput is where Parse prints a help that was asked for (Main points
// it at its stdout).
var helpOutput io.Writer = os.Stdout

// Usage writes the command list; the name column fits the longest name.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "usage: go run ./builder <command> [flags]\n")
	cmds := Commands()
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	for i, c := range cmds {
		if i == 0 || c.Group != cmds[i-1].Group {
			fmt.Fprintf(w, "\n%s:\n", groupTitles[c.Group])
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nRun 'go run ./builder help <command>' (or <command> --help) for a command's flags.\n")
}

// Main runs the command args[0] names with the rest of args and returns
// the process exit status: 0 done (or help shown), 1 the command failed,
// 2 the command line is wrong.
func Main(args []string, stdout, stderr io.Writer) int {
	helpOutput = stdout
	if len(args) == 0 {
		Usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(rest) == 0 {
			Usage(stdout)
			return 0
		}
		// `builder help build` is `builder build --help`.
		name, rest = rest[0], []string{"--help"}
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "builder: unknown command %q\n\n", name)
		Usage(stderr)
		return 2
	}
	err := cmd.Run(rest)
	var ue *UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "builder %s: %v\nRun 'go run ./builder %s --help' for its flags.\n", cmd.Name, ue.Err, cmd.Name)
		return 2
	}
	fmt.Fprintf(stderr, "builder %s: %v\n", cmd.Name, err)
	return 1
}
