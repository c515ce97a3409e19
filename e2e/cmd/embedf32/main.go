// Command embedf32 runs our engine on raw input tensors (the .f32 format of
// e2e/ref/common.mjs: K images of float32 [3,224,224], little-endian) and
// prints one JSON line per image with the requested outputs, so the
// reference tests can compare our engine — natively and compiled to js/wasm
// — with TF.js and ONNX Runtime on exactly the same numbers.
//
//	go run ./e2e/cmd/embedf32 --model resnet50-fp32.onnx --outputs gap,probs in.f32
//	go run ./e2e/cmd/embedf32 --model resnet50-int8.onnx --activations int8 --outputs gap,gmp in.f32
//	GOOS=js GOARCH=wasm go run -exec wasm/exec/go_js_wasm_exec ./e2e/cmd/embedf32 …
//
// --activations defaults to fp32, the arithmetic ONNX Runtime and TF.js use.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/lookalike/lookalike/models/engine"
)

func main() {
	model := flag.String("model", "", "ONNX model file")
	outs := flag.String("outputs", "gap", "comma-separated outputs to print")
	gemm := flag.String("gemm", "auto", "GEMM implementation: auto or generic")
	act := flag.String("activations", "fp32", "convolution arithmetic: fp32 or int8")
	flag.Parse()
	if *model == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: embedf32 --model FILE [--outputs gap,probs] [--gemm auto|generic] [--activations fp32|int8] IN.f32")
		os.Exit(2)
	}
	prec, err := engine.ParsePrecision(*act)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedf32:", err)
		os.Exit(2)
	}
	if err := run(*model, strings.Split(*outs, ","), *gemm, prec, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "embedf32:", err)
		os.Exit(1)
	}
}

func run(modelPath string, outputs []string, gemm string, prec engine.Precision, in string) error {
	if err := engine.SetGemm(gemm); err != nil {
		return err
	}
	mb, err := os.ReadFile(modelPath)
	if err != nil {
		return err
	}
	m, err := engine.LoadWith(mb, engine.Options{Activations: prec})
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	const per = 3 * 224 * 224
	if len(raw)%(4*per) != 0 || len(raw) == 0 {
		return fmt.Errorf("%s: %d bytes is not a whole number of [3,224,224] float32 images", in, len(raw))
	}
	k := len(raw) / (4 * per)
	s := m.NewSession()
	enc := json.NewEncoder(os.Stdout)
	for i := 0; i < k; i++ {
		x := make([]float32, per)
		for j := range x {
			x[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*per+j):]))
		}
		t0 := time.Now()
		res, err := s.Run(x, 1, outputs...)
		if err != nil {
			return err
		}
		rec := map[string]any{"index": i, "ms": float64(time.Since(t0).Microseconds()) / 1000}
		for _, o := range outputs {
			rec[o] = res[o]
			if o == "probs" {
				best := 0
				for c, p := range res[o] {
					if p > res[o][best] {
						best = c
					}
				}
				rec["top1"] = best
			}
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return nil
}
