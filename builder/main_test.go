//go:build !js

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/builder/internal/cli"
)

// TestEveryCommandsHelp: each command's help (both ways of asking) starts
// with its one-line usage, says no default twice, and a typo'd flag gets
// the error and a one-line hint, nothing else.
func TestEveryCommandsHelp(t *testing.T) {
	cmds := cli.Commands()
	if len(cmds) < 10 {
		t.Fatalf("%d commands registered, want the 10 product and evaluation commands", len(cmds))
	}
	for _, c := range cmds {
		t.Run(c.Name, func(t *testing.T) {
			var help, errb bytes.Buffer
			if code := cli.Main([]string{c.Name, "--help"}, &help, &errb); code != 0 || errb.Len() > 0 {
				t.Fatalf("--help: exit %d, stderr %q", code, errb.String())
			}
			if first, _, _ := strings.Cut(help.String(), "\n"); !strings.HasPrefix(first, "usage: go run ./builder "+c.Name+" ") {
				t.Errorf("help starts %q, want the one-line usage", first)
			}
			lines := strings.Split(help.String(), "\n")
			for i, line := range lines {
				// PrintDefaults puts a flag's text on the line after its name.
				if strings.HasPrefix(line, "  -") && i+1 < len(lines) && strings.Count(lines[i+1], "(default") > 1 {
					t.Errorf("%s: default given twice: %q", strings.TrimSpace(line), strings.TrimSpace(lines[i+1]))
				}
			}
			var again bytes.Buffer
			if cli.Main([]string{"help", c.Name}, &again, &errb); again.String() != help.String() {
				t.Errorf("'help %s' differs from '%s --help'", c.Name, c.Name)
			}

			var out bytes.Buffer
			errb.Reset()
			if code := cli.Main([]string{c.Name, "--no-such-flag"}, &out, &errb); code != 2 {
				t.Errorf("typo'd flag: exit %d, want 2", code)
			}
			want := "builder " + c.Name + ": flag provided but not defined: -no-such-flag\nRun 'go run ./builder " + c.Name + " --help' for its flags.\n"
			if errb.String() != want || out.Len() > 0 {
				t.Errorf("typo'd flag printed\n%q\nto stderr and %d bytes to stdout; want\n%q", errb.String(), out.Len(), want)
			}
		})
	}
}
