//go:build !js

package main

// builder serve: the shopper's page and a built asset folder on one origin,
// with the headers every host sends (internal/headers), precompressed
// siblings included.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/builder/internal/precompress"
	"github.com/lookalike/lookalike/internal/headers"
)

func init() {
	register("serve", "serve the shopper's page (static/) and an asset folder at /assets/", runServe)
}

func runServe(args []string) error {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	assets := fl.String("assets", "", "asset folder written by 'builder build' (required)")
	addr := fl.String("addr", "127.0.0.1:8080", "address to listen on")
	static := fl.String("static", "static", "folder holding the page")
	noBuild := fl.Bool("no-build", false, "do not build the engine; serve static/build/ as it is")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./builder serve --assets DIR [--addr 127.0.0.1:8080] [--static static]\n\n")
		fl.PrintDefaults()
	}
	if err := cli.Parse(fl, args); err != nil {
		return err
	}
	if *assets == "" || fl.NArg() > 0 {
		fl.Usage()
		return errors.New("serve: --assets DIR is required")
	}
	for _, d := range []string{*assets, *static} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return fmt.Errorf("serve: %s is not a folder", d)
		}
	}
	if _, err := os.Stat(filepath.Join(*assets, "manifest.json")); err != nil {
		fmt.Fprintf(os.Stderr, "serve: warning: %s has no manifest.json; the page will say the catalogue is missing\n", *assets)
	}
	if !*noBuild {
		start := time.Now()
		info, err := prepareEngine(*static, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "serve: engine %s ready in %s\n", info.Engine, time.Since(start).Round(time.Millisecond))
	}
	h, err := newServeHandler(*static, *assets)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Printf("Lookalike: serving %s (page) and %s (assets) at http://%s/\n", *static, *assets, ln.Addr())
	srv := &http.Server{Handler: logRequests(h), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(rw, r)
		if rw.status >= 400 {
			fmt.Fprintf(os.Stderr, "serve: %d %s %s\n", rw.status, r.Method, r.URL.Path)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// serveHandler serves two folders on one origin: static at / and assets at
// /assets/. Files are opened through os.Root, so neither "..", an absolute
// path nor a symbolic link can reach outside the folder.
type serveHandler struct {
	static, assets *os.Root
	packed         packedCache
}

// packedCache holds the compressed forms of text files that have no
// precompressed siblings on disk (the page's scripts and styles,
// manifest.json, build.json), computed on first request: a static host or
// CDN compresses these on the fly too, and on a slow link the page's
// ~130 KB of scripts and a 40k catalogue's 120 KB manifest are 70 % smaller.
type packedCache struct {
	mu sync.Mutex
	m  map[packedKey]map[string][]byte // suffix (".br", ".gz") -> bytes
}

type packedKey struct {
	root    *os.Root
	name    string
	size    int64
	modTime time.Time
}

// maxPackedSize bounds what is compressed on request (larger files have
// siblings written by the builder, or are not text).
const maxPackedSize = 4 << 20

// packable: the text types a host compresses on the fly
// (headers.Compressible), big enough to be worth it.
func packable(name string, size int64) bool {
	return headers.Compressible(name) && size >= precompress.MinSize && size <= maxPackedSize
}

// get returns the compressed forms of f (read from its start), computing
// them once per file version.
func (c *packedCache) get(root *os.Root, name string, f *os.File, st os.FileInfo) map[string][]byte {
	k := packedKey{root, name, st.Size(), st.ModTime()}
	c.mu.Lock()
	out, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return out
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPackedSize+1))
	if _, serr := f.Seek(0, io.SeekStart); err != nil || serr != nil || int64(len(data)) != st.Size() {
		return nil
	}
	out, err = precompress.Siblings(data)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[packedKey]map[string][]byte{}
	}
	for old := range c.m { // one version per file
		if old.root == root && old.name == name {
			delete(c.m, old)
		}
	}
	c.m[k] = out
	c.mu.Unlock()
	return out
}

func newServeHandler(staticDir, assetsDir string) (http.Handler, error) {
	s, err := os.OpenRoot(staticDir)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	a, err := os.OpenRoot(assetsDir)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return &serveHandler{static: s, assets: a}, nil
}

func (s *serveHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	headers.Set(h, headers.Common(false))
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions: // a CORS preflight from another site
		headers.Set(h, headers.Preflight())
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h.Set("Allow", headers.Methods)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	root, name, ok := s.route(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	// A precompressed sibling is a representation of its file, not a
	// resource of its own (internal/headers: the sibling rule).
	if orig, _, sib := headers.SiblingOf(name); sib && isFile(root, orig) {
		http.NotFound(w, r)
		return
	}
	f, st, ok := openFile(root, name)
	if !ok {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	urlPath := r.URL.Path
	if strings.HasSuffix(urlPath, "/") {
		urlPath += "index.html"
	}
	headers.SetFile(h, urlPath)
	var have []headers.Encoding
	for _, e := range headers.Encodings {
		if isFile(root, name+e.Suffix) {
			have = append(have, e)
		}
	}
	var packed map[string][]byte
	if len(have) == 0 && packable(name, st.Size()) {
		packed = s.packed.get(root, name, f, st)
		for _, e := range headers.Encodings {
			if packed[e.Suffix] != nil {
				have = append(have, e)
			}
		}
	}
	if len(have) > 0 || headers.Compressible(name) {
		h.Add(headers.Vary.Name, headers.Vary.Value)
	}
	if e, ok := headers.Negotiate(r.Header.Get("Accept-Encoding"), func(e headers.Encoding) bool {
		return r.Header.Get("Range") == "" && slices.Contains(have, e)
	}); ok {
		if b := packed[e.Suffix]; b != nil {
			h.Set("Content-Encoding", e.Name)
			h.Set("Content-Length", strconv.Itoa(len(b)))
			http.ServeContent(w, r, path.Base(name), st.ModTime(), bytes.NewReader(b))
			return
		}
		if sf, sst, ok := openFile(root, name+e.Suffix); ok {
			defer sf.Close()
			// ServeContent leaves Content-Length to the handler once an
			// encoding is set.
			h.Set("Content-Encoding", e.Name)
			h.Set("Content-Length", strconv.FormatInt(sst.Size(), 10))
			f, st = sf, sst
		}
	}
	http.ServeContent(w, r, path.Base(name), st.ModTime(), f)
}

// openFile opens a regular file (never a directory listing).
func openFile(root *os.Root, name string) (*os.File, os.FileInfo, bool) {
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, false
	}
	return f, st, true
}

func isFile(root *os.Root, name string) bool {
	st, err := root.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

// route maps a URL path to a folder and a slash-separated name inside it.
func (s *serveHandler) route(urlPath string) (*os.Root, string, bool) {
	if !strings.HasPrefix(urlPath, "/") || strings.Contains(urlPath, "\x00") || strings.Contains(urlPath, "\\") {
		return nil, "", false
	}
	// Refuse any ".." segment instead of resolving it: a well-behaved
	// browser never sends one.
	for _, seg := range strings.Split(urlPath, "/") {
		if seg == ".." || seg == "." {
			return nil, "", false
		}
	}
	root := s.static
	rel := strings.TrimPrefix(urlPath, "/")
	if rel == "assets" || strings.HasPrefix(rel, "assets/") {
		root = s.assets
		rel = strings.TrimPrefix(strings.TrimPrefix(rel, "assets"), "/")
	}
	if rel == "" || strings.HasSuffix(rel, "/") {
		if root != s.static {
			return nil, "", false
		}
		rel += "index.html"
	}
	// Hidden files (.git, .DS_Store, editor swap files) are never served.
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return nil, "", false
		}
	}
	// From the asset folder only what a build publishes: never its
	// report (local paths), the build lock or a stray file.
	if root == s.assets && !publishable(rel) {
		return nil, "", false
	}
	return root, rel, true
}

// engineBuild is static/build/build.json: what the Web Worker loads, by
// content-hashed name. Read by static/engine-worker.js.
type engineBuild struct {
	Engine   string            `json:"engine"`            // engine-<hash>.wasm
	WasmExec string            `json:"wasmExec"`          // wasm_exec-<hash>.js
	Kernels  map[string]string `json:"kernels,omitempty"` // source name -> served name
	Sizes    map[string]int64  `json:"sizes"`             // served name -> bytes
	GoVer    string            `json:"go"`
}

// prepareEngine builds wasm/engine for GOOS=js GOARCH=wasm (or reuses the
// copy in .cache/engine/<source hash>/), then writes static/build/ with the
// engine, Go's wasm_exec.js and the wasm/kernels artefacts under
// content-hashed names, plus build.json naming them.
func prepareEngine(staticDir string, log io.Writer) (*engineBuild, error) {
	repo, err := cli.RepoRoot()
	if err != nil {
		return nil, err
	}
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return nil, err
	}
	key, err := engineSourceHash(repo, "./wasm/engine")
	if err != nil {
		return nil, err
	}
	cacheDir := filepath.Join(repo, ".cache", "engine", key[:16])
	if precompress.CacheDir == "" {
		precompress.CacheDir = filepath.Join(repo, ".cache", "precompress")
	}
	cached := filepath.Join(cacheDir, "engine.wasm")
	if _, err := os.Stat(cached); err != nil {
		fmt.Fprintf(log, "serve: building wasm/engine (GOOS=js GOARCH=wasm) into %s\n", cacheDir)
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		tmp := cached + ".tmp"
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, "./wasm/engine")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			os.Remove(tmp)
			return nil, fmt.Errorf("serve: building wasm/engine: %w", err)
		}
		if err := os.Rename(tmp, cached); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
	}
	out := filepath.Join(staticDir, "build")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	info := &engineBuild{GoVer: runtime.Version(), Sizes: map[string]int64{}}
	keep := map[string]bool{"build.json": true}
	if info.Engine, err = copyHashed(cached, out, "engine", ".wasm"); err != nil {
		return nil, err
	}
	keep[info.Engine] = true
	if info.WasmExec, err = copyHashed(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"), out, "wasm_exec", ".js"); err != nil {
		return nil, err
	}
	keep[info.WasmExec] = true
	// The SIMD kernel and its loader (wasm/kernels). Without them the engine
	// runs its portable Go path, so a missing assembler is only a warning.
	if err := addKernel(repo, out, info, keep, log); err != nil {
		fmt.Fprintf(log, "serve: warning: no SIMD kernel (%v); the engine will use its portable path\n", err)
	}
	for _, name := range []string{info.Engine, info.WasmExec} {
		if st, err := os.Stat(filepath.Join(out, name)); err == nil {
			info.Sizes[name] = st.Size()
		}
	}
	// Precompressed siblings of the engine and the scripts (the engine is
	// about a quarter of its size in brotli).
	var names []string
	for name := range keep {
		if name != "build.json" {
			names = append(names, name)
		}
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		sib, err := precompress.Write(filepath.Join(out, name), b)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		for _, p := range sib {
			keep[filepath.Base(p)] = true
		}
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(out, "build.json"), append(b, '\n')); err != nil {
		return nil, err
	}
	// Drop stale hashed copies from earlier builds.
	old, _ := os.ReadDir(out)
	for _, e := range old {
		if !keep[e.Name()] && !e.IsDir() {
			os.Remove(filepath.Join(out, e.Name()))
		}
	}
	return info, nil
}

// addKernel assembles the kernel module (wasm/kernels: sgemm.wat with
// qgemm.wat, its four builds; cached by the sources' hash) and copies the
// builds, the loader and the GEMM pool's two scripts into out.
func addKernel(repo, out string, info *engineBuild, keep map[string]bool, log io.Writer) error {
	kdir := filepath.Join(repo, "wasm", "kernels")
	h := sha256.New()
	for _, src := range []string{"sgemm.wat", "qgemm.wat", "build.mjs"} {
		b, err := os.ReadFile(filepath.Join(kdir, src))
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", src, len(b))
		h.Write(b)
	}
	for _, js := range []string{"loader.js", "pool.js", "pool-worker.js"} {
		if _, err := os.Stat(filepath.Join(kdir, js)); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	cacheDir := filepath.Join(repo, ".cache", "kernels", hex.EncodeToString(h.Sum(nil))[:16])
	builds := []string{"sgemm", "sgemm-fma", "sgemm-shared", "sgemm-fma-shared"}
	if _, err := os.Stat(filepath.Join(cacheDir, builds[len(builds)-1]+".wasm")); err != nil {
		cmd := exec.Command("bash", filepath.Join(kdir, "build.sh"), cacheDir)
		cmd.Dir = repo
		cmd.Stdout, cmd.Stderr = io.Discard, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("serve: assembling sgemm.wat: %w", err)
		}
	}
	info.Kernels = map[string]string{}
	files := []struct{ src, stem, ext string }{
		{filepath.Join(kdir, "loader.js"), "loader", ".js"},
		{filepath.Join(kdir, "pool.js"), "pool", ".js"},
		{filepath.Join(kdir, "pool-worker.js"), "pool-worker", ".js"},
	}
	for _, b := range builds {
		files = append(files, struct{ src, stem, ext string }{filepath.Join(cacheDir, b+".wasm"), b, ".wasm"})
	}
	for _, f := range files {
		name, err := copyHashed(f.src, out, f.stem, f.ext)
		if err != nil {
			return err
		}
		info.Kernels[f.stem+f.ext] = name
		keep[name] = true
		if st, err := os.Stat(filepath.Join(out, name)); err == nil {
			info.Sizes[name] = st.Size()
		}
	}
	return nil
}

// copyHashed copies src to dir/<stem>-<sha256[:12]><ext> unless it is there.
func copyHashed(src, dir, stem, ext string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("serve: %w", err)
	}
	sum := sha256.Sum256(b)
	name := stem + "-" + hex.EncodeToString(sum[:])[:12] + ext
	dst := filepath.Join(dir, name)
	if _, err := os.Stat(dst); err == nil {
		return name, nil
	}
	return name, writeFileAtomic(dst, b)
}

func writeFileAtomic(dst string, b []byte) error {
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// engineSourceHash is the cache key of an engine build: the Go version,
// go.mod and go.sum, and every file the js/wasm build of pkg compiles —
// its packages' Go, assembly and embedded files, as `go list -deps`
// reports them for GOOS=js GOARCH=wasm (so internal/vec, internal/topk and
// whatever the engine imports next count, and tests, docs and other
// programs do not). Packages outside the repository (the module cache)
// count by import path and folder, which holds their version.
func engineSourceHash(repo, pkg string) (string, error) {
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}}|{{.Dir}}|{{join .GoFiles ","}}|{{join .SFiles ","}}|{{join .EmbedFiles ","}}{{end}}`, pkg)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("serve: go list -deps %s: %w\n%s", pkg, err, stderr.String())
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", runtime.Version())
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := hashFile(h, repo, f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sort.Strings(lines)
	for _, line := range lines {
		if line == "" {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 5 {
			return "", fmt.Errorf("serve: go list -deps: unexpected line %q", line)
		}
		rel, err := filepath.Rel(repo, parts[1])
		if err != nil || strings.HasPrefix(rel, "..") {
			fmt.Fprintf(h, "dep %s %s\n", parts[0], parts[1])
			continue
		}
		var files []string
		for _, list := range parts[2:] {
			if list != "" {
				files = append(files, strings.Split(list, ",")...)
			}
		}
		sort.Strings(files)
		for _, f := range files {
			if err := hashFile(h, repo, filepath.Join(rel, f)); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile writes a repository file's slash-separated name, size and bytes
// to h.
func hashFile(h io.Writer, repo, rel string) error {
	b, err := os.ReadFile(filepath.Join(repo, rel))
	if err != nil {
		return fmt.Errorf("serve: hashing sources: %w", err)
	}
	fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
	h.Write(b)
	return nil
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("serve: go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
