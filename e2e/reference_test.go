package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/models/imageprep"
)

// repoRoot is the folder holding go.mod.
func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func sharedDir(t testing.TB) string {
	if d := os.Getenv("LOOKALIKE_SHARED"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(t), "..", "shared")
}

func needReference(t *testing.T) {
	t.Helper()
	if os.Getenv("LOOKALIKE_REFERENCE") == "" {
		t.Skip("set LOOKALIKE_REFERENCE=1 (make test-ref) to run the reference checks")
	}
}

func modelDir(t *testing.T) string {
	d := os.Getenv("LOOKALIKE_MODEL_DIR")
	if d == "" {
		d = filepath.Join(repoRoot(t), ".cache", "model-out")
	}
	for _, f := range []string{"resnet50-int8.onnx", "resnet50-fp32.onnx", "resnet50-int4.onnx"} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			t.Fatalf("%s missing: run `go run ./builder model --out %s --fp32 --int4 --calibrate CATALOG` (make model)", f, d)
		}
	}
	return d
}

// referencePhotos picks one photo from each of several articleTypes of the
// catalogue, in file order: real product photos, deterministic.
func referencePhotos(t *testing.T, n int) []string {
	dir := filepath.Join(sharedDir(t), "fashion")
	f, err := os.Open(filepath.Join(dir, "catalog.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("catalogue ended before %d photos: %v", n, err)
		}
		at := rec[col["articleType"]]
		if seen[at] {
			continue
		}
		seen[at] = true
		out = append(out, filepath.Join(dir, rec[col["image"]]))
	}
	return out
}

// writeTensors preprocesses photos with our front end into one .f32 file.
func writeTensors(t *testing.T, photos []string, path string) {
	var buf bytes.Buffer
	for _, p := range photos {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		x, err := imageprep.Prepare(data, nil, imageprep.CaffeSpec())
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, v := range x {
			binary.Write(&buf, binary.LittleEndian, v)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type featRec struct {
	Index int       `json:"index"`
	Gap   []float64 `json:"gap"`
	Gmp   []float64 `json:"gmp"`
	Top1  *int      `json:"top1"`
}

func runJSONL(t *testing.T, dir string, env []string, name string, args ...string) []featRec {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	var recs []featRec
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r featRec
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s: bad output line: %v", name, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func cosine(a, b []float64) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// TestReferenceFeatures is the engine's correctness contract:
//   - our fp32 engine vs the original TF.js model: gap cosine ≥ 0.9999 and
//     the same ImageNet top-1 on every photo (expected classes come from the
//     TF.js run, not from constants);
//   - our int8 engine vs TF.js: gap cosine ≥ 0.995;
//   - ONNX Runtime on the files we write vs our engine on the same file:
//     cosine ≥ 0.9999;
//   - our engine compiled to js/wasm (with the SIMD kernel) vs native:
//     cosine ≥ 0.99999;
//   - int8 activations (what the builder and the page run) vs float32
//     activations on the int8 file: cosine ≥ 0.995, and js/wasm vs native
//     with int8 activations: the very same numbers (exact integer
//     arithmetic and the same float epilogue on both).
func TestReferenceFeatures(t *testing.T) {
	needReference(t)
	root := repoRoot(t)
	md := modelDir(t)
	fp32 := filepath.Join(md, "resnet50-fp32.onnx")
	int8 := filepath.Join(md, "resnet50-int8.onnx")
	int4 := filepath.Join(md, "resnet50-int4.onnx")
	tmp := t.TempDir()
	photos := referencePhotos(t, 5)
	in := filepath.Join(tmp, "in.f32")
	writeTensors(t, photos, in)

	tool := filepath.Join(tmp, "embedf32")
	build := exec.Command("go", "build", "-o", tool, "./e2e/cmd/embedf32")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build embedf32: %v\n%s", err, out)
	}
	wasmTool := filepath.Join(tmp, "embedf32.wasm")
	build = exec.Command("go", "build", "-o", wasmTool, "./e2e/cmd/embedf32")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build embedf32 for js/wasm: %v\n%s", err, out)
	}

	tfjs := runJSONL(t, root, nil, "node", "e2e/ref/tfjs_features.mjs", in)
	oursFP := runJSONL(t, root, nil, tool, "--model", fp32, "--outputs", "gap,probs", in)
	oursQ := runJSONL(t, root, nil, tool, "--model", int8, "--outputs", "gap,gmp", in)
	ortFP := runJSONL(t, root, nil, "node", "e2e/ref/ort_features.mjs", "--model", fp32, in)
	ortQ := runJSONL(t, root, nil, "node", "e2e/ref/ort_features.mjs", "--model", int8, in)
	wasmQ := runJSONL(t, root, nil, filepath.Join(root, "wasm/exec/go_js_wasm_exec"), wasmTool, "--model", int8, "--outputs", "gap,gmp", in)
	// The shipped model: mostly 4-bit weights (opset 21 DequantizeLinear).
	ours4 := runJSONL(t, root, nil, tool, "--model", int4, "--outputs", "gap,gmp", in)
	ort4 := runJSONL(t, root, nil, "node", "e2e/ref/ort_features.mjs", "--model", int4, in)
	wasm4 := runJSONL(t, root, nil, filepath.Join(root, "wasm/exec/go_js_wasm_exec"), wasmTool, "--model", int4, "--outputs", "gap,gmp", in)
	// What the builder and the page run: the shipped model with int8 activations.
	oursA8 := runJSONL(t, root, nil, tool, "--model", int4, "--activations", "int8", "--outputs", "gap,gmp", in)
	wasmA8 := runJSONL(t, root, nil, filepath.Join(root, "wasm/exec/go_js_wasm_exec"), wasmTool, "--model", int4, "--activations", "int8", "--outputs", "gap,gmp", in)

	for name, recs := range map[string][]featRec{"tfjs": tfjs, "ours fp32": oursFP, "ours int8": oursQ, "ort fp32": ortFP, "ort int8": ortQ, "wasm int8": wasmQ, "ours int4": ours4, "ort int4": ort4, "wasm int4": wasm4,
		"ours int8 activations": oursA8, "wasm int8 activations": wasmA8} {
		if len(recs) != len(photos) {
			t.Fatalf("%s: %d records for %d photos", name, len(recs), len(photos))
		}
	}
	for i, p := range photos {
		name := filepath.Base(p)
		check := func(what string, a, b []float64, min float64) {
			c := cosine(a, b)
			t.Logf("%-10s %-40s cosine %.7f", name, what, c)
			if !(c >= min) {
				t.Errorf("%s: %s: cosine %.7f < %v", name, what, c, min)
			}
		}
		check("fp32 engine vs TF.js gap", oursFP[i].Gap, tfjs[i].Gap, 0.9999)
		check("int8 engine vs TF.js gap", oursQ[i].Gap, tfjs[i].Gap, 0.995)
		check("ORT vs engine, fp32 file", ortFP[i].Gap, oursFP[i].Gap, 0.9999)
		check("ORT vs engine, int8 file", ortQ[i].Gap, oursQ[i].Gap, 0.9999)
		check("ORT vs engine, int8 gmp", ortQ[i].Gmp, oursQ[i].Gmp, 0.9999)
		check("wasm vs native, int8 gap", wasmQ[i].Gap, oursQ[i].Gap, 0.99999)
		check("wasm vs native, int8 gmp", wasmQ[i].Gmp, oursQ[i].Gmp, 0.99999)
		check("ORT vs engine, int4 file", ort4[i].Gap, ours4[i].Gap, 0.9999)
		check("ORT vs engine, int4 gmp", ort4[i].Gmp, ours4[i].Gmp, 0.9999)
		check("wasm vs native, int4 gap", wasm4[i].Gap, ours4[i].Gap, 0.99999)
		check("int4 engine vs TF.js gap", ours4[i].Gap, tfjs[i].Gap, 0.97)
		check("int8 vs fp32 activations, int4 file, gap", oursA8[i].Gap, ours4[i].Gap, 0.995)
		check("int8 vs fp32 activations, int4 file, gmp", oursA8[i].Gmp, ours4[i].Gmp, 0.995)
		for _, v := range [][2][]float64{{wasmA8[i].Gap, oursA8[i].Gap}, {wasmA8[i].Gmp, oursA8[i].Gmp}} {
			for j := range v[1] {
				if v[0][j] != v[1][j] {
					t.Errorf("%s: int8 activations: wasm %v, native %v at %d (want the same numbers)", name, v[0][j], v[1][j], j)
					break
				}
			}
		}
		if tfjs[i].Top1 == nil || oursFP[i].Top1 == nil {
			t.Fatalf("%s: missing top-1", name)
		}
		t.Logf("%-10s top-1 TF.js %d, ours %d", name, *tfjs[i].Top1, *oursFP[i].Top1)
		if *tfjs[i].Top1 != *oursFP[i].Top1 {
			t.Errorf("%s: top-1 %d, TF.js says %d", name, *oursFP[i].Top1, *tfjs[i].Top1)
		}
	}
}
