//go:build !js

package main

// builder headers: the header policy (internal/headers) for a host — the
// JSON the edge entry imports, a Cloudflare Pages `_headers` file, or an
// nginx snippet.

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/internal/headers"
)

func init() {
	register("headers", "print the header policy for a host: json (edge entry), pages (_headers) or nginx", runHeaders)
}

func runHeaders(args []string) error {
	fl := flag.NewFlagSet("headers", flag.ContinueOnError)
	format := fl.String("format", "nginx", "json (wasm/worker/entry.mjs), pages (a Cloudflare Pages _headers file) or nginx (a server {} snippet)")
	site := fl.String("site", "", "for pages: the staged site whose files to list (default: an example layout)")
	out := fl.String("out", "", "write to this file instead of standard output")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./builder headers [--format json|pages|nginx] [--site SITE] [--out FILE]\n\n")
		fl.PrintDefaults()
	}
	if err := cli.Parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		fl.Usage()
		return errors.New("headers: unexpected arguments")
	}
	var text string
	switch *format {
	case "json":
		text = string(headers.JSON())
	case "nginx":
		text = headers.Nginx()
	case "pages":
		files := headers.ExampleSite
		if *site != "" {
			var err error
			if files, err = siteFiles(*site); err != nil {
				return err
			}
		}
		text = headers.PagesFile(files)
	default:
		return fmt.Errorf("headers: --format %q: want json, pages or nginx", *format)
	}
	if *out == "" {
		_, err := os.Stdout.WriteString(text)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("headers: %w", err)
	}
	return writeFileAtomic(*out, []byte(text))
}

// siteFiles lists a staged site's public files as URL paths (no hidden
// files, no _worker/, no _headers).
func siteFiles(site string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(site, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(site, p)
		rel = filepath.ToSlash(rel)
		if rel != "." && (strings.HasPrefix(d.Name(), ".") || rel == "_worker" || rel == pagesHeaders) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			out = append(out, "/"+rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("headers: %w", err)
	}
	return out, nil
}
