//go:build !js

package build

import "github.com/lookalike/lookalike/builder/internal/cli"

// register adds one of this package's commands to the product commands.
func register(name, summary string, run func(args []string) error) {
	cli.Register(cli.Product, name, summary, run)
}
