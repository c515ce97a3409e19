//go:build !js

package main

import (
	"os"

	"github.com/lookalike/lookalike/builder/internal/cli"

	// The commands register themselves with cli from init().
	_ "github.com/lookalike/lookalike/builder/internal/build"
	_ "github.com/lookalike/lookalike/builder/internal/evaluate"
)

// register adds one of this package's commands (serve, stage) to the
// product commands.
func register(name, summary string, run func(args []string) error) {
	cli.Register(cli.Product, name, summary, run)
}

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
