//go:build !js

package evaluate

import "github.com/lookalike/lookalike/builder/internal/cli"

// register adds one of this package's commands to the evaluation commands.
func register(name, summary string, run func(args []string) error) {
	cli.Register(cli.Evaluation, name, summary, run)
}
