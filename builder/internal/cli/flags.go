//go:build !js

package cli

import (
	"errors"
	"flag"
	"io"
	"strconv"
)

// UsageError is a command line the command cannot run: an unknown flag, a
// value that does not parse. Main prints it with a hint to the help.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Parse parses args into fs. On -h/--help it prints fs.Usage to the help
// output and returns flag.ErrHelp; on a bad flag it prints nothing and
// returns a *UsageError (Main prints the error once, with a hint). fs
// should be made with flag.ContinueOnError and a Usage whose first line is
// "usage: go run ./builder NAME …".
func Parse(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // the flag package would print the error and every flag
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(helpOutput)
		fs.Usage()
		fs.SetOutput(out)
		return flag.ErrHelp
	}
	return &UsageError{Err: err}
}

// AutoInt is an int flag whose value auto means "work it out later" (the
// help text says how), so the help shows no "(default …)" of its own:
//
//	fs.Var(cli.AutoInt(&cfg.MaxErrors, -1), "max-errors", "… (default: 1% of rows)")
//
// It sets *p to auto.
func AutoInt(p *int, auto int) flag.Value {
	*p = auto
	return &autoInt{p: p, auto: auto}
}

type autoInt struct {
	p    *int
	auto int
}

// String is "" while the value is auto: flag.PrintDefaults compares it with
// the zero autoInt's "" and prints no default.
func (a *autoInt) String() string {
	if a == nil || a.p == nil || *a.p == a.auto {
		return ""
	}
	return strconv.Itoa(*a.p)
}

func (a *autoInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want a whole number")
	}
	*a.p = v
	return nil
}
