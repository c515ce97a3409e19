//go:build !js

package main

// builder serve: the shopper's page and a built asset folder on one origin,
// with the headers a static host must send (see static/README.md).

import (
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
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/lookalike/lookalike/builder/internal/cli"
)

func init() {
	register("serve", "serve the shopper's page (static/) and an asset folder at /assets/", runServe)
}

// contentSecurityPolicy is sent with every response. 'wasm-unsafe-eval' is the
// only relaxation: WebAssembly.instantiate needs it; no inline script or style.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
	"worker-src 'self'; img-src 'self' blob: data:; style-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'"

// hashedName matches file names that carry a content hash, e.g.
// model-3fa94c1e.onnx or engine-0a1b2c3d4e5f.wasm: such a file never changes
// under its name, so it may be cached forever.
var hashedName = regexp.MustCompile(`-[0-9a-f]{8,64}(\.[A-Za-z0-9]+)+$`)

// contentTypes overrides the platform's MIME table so that headers do not
// depend on the machine serving the files.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".wasm":        "application/wasm",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".webp":        "image/webp",
	".gif":         "image/gif",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
	".onnx":        "application/octet-stream",
	".ann":         "application/octet-stream",
	".bin":         "application/octet-stream",
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

func setCommonHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Embedder-Policy", "require-corp")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
}

func (s *serveHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCommonHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	root, name, ok := s.route(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() { // no directory listings
		http.NotFound(w, r)
		return
	}
	base := path.Base(name)
	ext := strings.ToLower(path.Ext(base))
	if ct, ok := contentTypes[ext]; ok {
		w.Header().Set("Content-Type", ct)
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("Cache-Control", cacheControl(base))
	if base == "sw.js" {
		// Let the service worker control the whole origin even though it
		// could be moved to a sub-folder later.
		w.Header().Set("Service-Worker-Allowed", "/")
	}
	http.ServeContent(w, r, base, st.ModTime(), f)
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
	return root, rel, true
}

// cacheControl: content-hashed files are immutable; everything else (the
// page, the manifest, build.json) must be revalidated on every load so a new
// build is picked up at once.
func cacheControl(base string) string {
	if hashedName.MatchString(base) {
		return "public, max-age=31536000, immutable"
	}
	return "no-cache"
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
	key, err := sourceHash(repo, []string{"go.mod", "go.sum", "models", filepath.Join("wasm", "engine")})
	if err != nil {
		return nil, err
	}
	cacheDir := filepath.Join(repo, ".cache", "engine", key[:16])
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

// sourceHash hashes the names and contents of the Go sources (and go.mod,
// go.sum) under the given repository-relative paths, plus the Go version:
// the cache key of an engine build.
func sourceHash(repo string, paths []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", runtime.Version())
	var files []string
	for _, p := range paths {
		full := filepath.Join(repo, p)
		err := filepath.WalkDir(full, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
					return fs.SkipDir
				}
				return nil
			}
			n := d.Name()
			if strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") || n == "go.mod" || n == "go.sum" || strings.HasSuffix(n, ".s") {
				files = append(files, f)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("serve: hashing sources: %w", err)
		}
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("serve: hashing sources: %w", err)
		}
		rel, _ := filepath.Rel(repo, f)
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("serve: go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
