//go:build !js

package cli

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// withCommands swaps in a registry for one test.
func withCommands(t *testing.T, cmds ...Command) {
	t.Helper()
	saved := commands
	commands = map[string]Command{}
	for _, c := range cmds {
		Register(c.Group, c.Name, c.Summary, c.Run)
	}
	t.Cleanup(func() { commands = saved })
}

// toyCommand has one int flag -n and one auto flag -max.
func toyCommand(name string, got *int) Command {
	return Command{Name: name, Summary: "a toy", Run: func(args []string) error {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		n := fs.Int("n", 3, "how many")
		var max int
		fs.Var(AutoInt(&max, -1), "max", "the most (default: as many as there are)")
		fs.Usage = func() {
			fs.Output().Write([]byte("usage: go run ./builder " + name + " [-n N]\n\n"))
			fs.PrintDefaults()
		}
		if err := Parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return errors.New("it failed")
		}
		*got = *n*100 + max
		return nil
	}}
}

func TestMain(t *testing.T) {
	var got int
	withCommands(t, toyCommand("toy", &got), Command{Name: "a-very-long-name", Summary: "long", Group: Evaluation,
		Run: func([]string) error { return nil }})
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		got        int
		stdout     []string // substrings
		stderr     []string
		stderrRows int // lines on stderr, when > 0
	}{
		{name: "no args", args: nil, code: 2, stderr: []string{"usage: go run ./builder <command>", "toy"}},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"commands:", "evaluation commands:", "a-very-long-name  long"}},
		{name: "flags", args: []string{"toy", "-n", "4", "-max", "7"}, code: 0, got: 407},
		{name: "auto default", args: []string{"toy"}, code: 0, got: 299},
		{name: "command help", args: []string{"toy", "--help"}, code: 0, stdout: []string{"usage: go run ./builder toy", "-max value"}},
		{name: "help command", args: []string{"help", "toy"}, code: 0, stdout: []string{"usage: go run ./builder toy"}},
		{name: "typo", args: []string{"toy", "-nn", "4"}, code: 2, stderrRows: 2,
			stderr: []string{"builder toy: flag provided but not defined: -nn", "Run 'go run ./builder toy --help' for its flags."}},
		{name: "bad auto value", args: []string{"toy", "-max", "lots"}, code: 2, stderrRows: 2, stderr: []string{`invalid value "lots" for flag -max: want a whole number`}},
		{name: "run error", args: []string{"toy", "extra"}, code: 1, stderrRows: 1, stderr: []string{"builder toy: it failed"}},
		{name: "unknown command", args: []string{"toyy"}, code: 2, stderr: []string{`unknown command "toyy"`, "toy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = 0
			var out, errb bytes.Buffer
			if code := Main(tc.args, &out, &errb); code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errb.String())
			}
			if got != tc.got {
				t.Errorf("command saw %d, want %d", got, tc.got)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
			if n := strings.Count(errb.String(), "\n"); tc.stderrRows > 0 && n != tc.stderrRows {
				t.Errorf("%d lines on stderr, want %d:\n%s", n, tc.stderrRows, errb.String())
			}
		})
	}
}

// TestUsageColumns: every summary starts in the same column, however long
// the longest name.
func TestUsageColumns(t *testing.T) {
	withCommands(t, Command{Name: "x", Summary: "one"}, Command{Name: "simulate-shoppers-and-more", Summary: "two", Group: Evaluation})
	var b bytes.Buffer
	Usage(&b)
	col := -1
	for _, line := range strings.Split(b.String(), "\n") {
		i := strings.Index(line, "one")
		if i < 0 {
			i = strings.Index(line, "two")
		}
		if i < 0 || !strings.HasPrefix(line, "  ") {
			continue
		}
		if col >= 0 && i != col {
			t.Errorf("summary at column %d, another at %d:\n%s", i, col, b.String())
		}
		col = i
	}
	if col < 0 {
		t.Fatalf("no command lines:\n%s", b.String())
	}
}

// TestAutoIntHidesDefault: the help shows the text's own default only.
func TestAutoIntHidesDefault(t *testing.T) {
	for _, tc := range []struct {
		auto, set int
		args      []string
		want      int
	}{
		{auto: -1, want: -1},
		{auto: -1, args: []string{"-m", "0"}, want: 0},
		{auto: 0, args: []string{"-m", "12"}, want: 12},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var m int
		fs.Var(AutoInt(&m, tc.auto), "m", "most (default: worked out)")
		var help bytes.Buffer
		fs.SetOutput(&help)
		fs.PrintDefaults()
		if strings.Count(help.String(), "default") != 1 {
			t.Errorf("auto %d: help %q: want one default", tc.auto, help.String())
		}
		if err := fs.Parse(tc.args); err != nil || m != tc.want {
			t.Errorf("auto %d, args %q: %d, %v; want %d", tc.auto, tc.args, m, err, tc.want)
		}
	}
}
