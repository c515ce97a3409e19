// Command builder is Lookalike's native CLI: it turns a shop's catalogue into
// the static assets the browser engine and the edge worker read.
//
//	go run ./builder <command> [flags]
//
// Each subcommand lives in its own cmd_*.go file and registers itself from
// init() with register.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

type command struct {
	name, summary string
	run           func(args []string) error
}

var commands = map[string]command{}

// writeReport writes an evaluation's report to w: indented JSON with
// --json, else the command's table.
func writeReport(w io.Writer, asJSON bool, rep any, table func(io.Writer) error) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return table(w)
}

// register adds a subcommand. Called from init() in each cmd_*.go file.
func register(name, summary string, run func(args []string) error) {
	if _, dup := commands[name]; dup {
		panic("builder: duplicate command " + name)
	}
	commands[name] = command{name, summary, run}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: go run ./builder <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'go run ./builder <command> -h' for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "builder: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "builder %s: %v\n", cmd.name, err)
		os.Exit(1)
	}
}
