//go:build !js

package build

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/lookalike/lookalike/builder/internal/progress"
	"github.com/lookalike/lookalike/internal/par"
	"github.com/lookalike/lookalike/models/embed"
	"github.com/lookalike/lookalike/models/objectness"
	"github.com/lookalike/lookalike/models/search"
)

// The learned product finder (models/objectness): trained on the
// catalogue's own photos pasted into busy scenes (augScene, the product's
// rectangle known), before the heads' shopper-like variants are embedded,
// so that those variants are localised as the page will localise a
// shopper's photo.

// defaultObjectness is how many busy scenes the finder learns from (600:
// 1,500 changed nothing on the 3k split, docs/quality.md); objectnessCheck
// more, never trained on, measure how well it finds the product.
const (
	defaultObjectness = 600
	objectnessCheck   = 100
)

// objectnessVersion names the training (scenes, labels, options) in the
// cache key of a trained finder; bump it when they change.
const objectnessVersion = "objectness-2" // 2: labels from the product's pixels' box

// objectnessResult is what a training gives, and what the cache holds.
type objectnessResult struct {
	Map *objectness.Map
	// Mean IoU with the product's rectangle on the check scenes: the
	// learned finder's, and the activation heuristic's (embed.Localise).
	IoU, HeuristicIoU float64
}

// addObjectness trains the finder (or takes it from the cache), installs
// it on emb and writes its asset. It does nothing for a model without the
// conv5 output, with --objectness -1, or for fewer than minHeadItems
// products.
func addObjectness(cfg *BuildConfig, good []*item, emb *embed.Embedder, modelSHA, cacheRoot string, w *assetWriter) (*ObjectnessReport, error) {
	if cfg.Objectness < 0 || !emb.CanLocalise() || len(good) < minHeadItems {
		return nil, nil
	}
	t0 := time.Now()
	n := cfg.Objectness
	if n == 0 {
		n = defaultObjectness
	}
	total := n + objectnessCheck
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6f626a))
	pick := make([]int, total)
	tex := make([]int, total)
	for j := range pick {
		pick[j], tex[j] = rng.IntN(len(good)), rng.IntN(len(good))
	}
	spec, _ := emb.Spec().MarshalJSON()
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00", objectnessVersion, augmentVersion, modelSHA, spec, cfg.Seed, n)
	for j := range pick {
		h.Write(good[pick[j]].hash[:])
		h.Write(good[tex[j]].hash[:])
	}
	cachePath := filepath.Join(cacheRoot, "objectness", fmt.Sprintf("%x.bin", h.Sum(nil)))
	res, err := readObjectness(cachePath)
	cached := err == nil
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(cfg.Log, "build: the cached product finder %s is unreadable (%v): training it again\n", cachePath, err)
		}
		if res, err = trainObjectness(cfg, good, emb, pick, tex, n); err != nil {
			return nil, err
		}
		if err := writeObjectness(cachePath, res); err != nil {
			fmt.Fprintf(cfg.Log, "build: could not cache the product finder: %v\n", err)
		}
	}
	b, err := res.Map.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if _, err := w.add(search.KindObjectness, "bin", b); err != nil {
		return nil, err
	}
	emb.SetObjectness(res.Map)
	how := fmt.Sprintf("learned on %d busy scenes", n)
	if cached {
		how = fmt.Sprintf("from the cache (%d busy scenes)", n)
	}
	fmt.Fprintf(cfg.Log, "build: product finder %s in %s (%.1f KB): mean IoU with the product %.2f on %d scenes it never saw (the activation heuristic: %.2f)\n",
		how, time.Since(t0).Round(time.Millisecond), float64(len(b))/1e3, res.IoU, objectnessCheck, res.HeuristicIoU)
	return &ObjectnessReport{Scenes: n, Checked: objectnessCheck, IoU: round3(res.IoU), HeuristicIoU: round3(res.HeuristicIoU), Cached: cached}, nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// trainObjectness pastes product pick[j] into a scene textured by product
// tex[j], runs the model for its feature map, trains on the first n and
// measures on the rest.
func trainObjectness(cfg *BuildConfig, good []*item, emb *embed.Embedder, pick, tex []int, n int) (*objectnessResult, error) {
	type scene struct {
		fm     []float32
		c      int
		side   int
		bounds image.Rectangle
		truth  image.Rectangle
	}
	scenes := make([]scene, len(pick))
	errs := make([]error, len(pick))
	decode := func(i int) (image.Image, error) { return cfg.images.decode(good[i].Image) }
	prog := progress.New(cfg.Log, "objectness: busy scenes", len(pick))
	par.For(len(pick), cfg.Workers, func(j int) {
		i := pick[j]
		img, err := decode(i)
		if err != nil {
			errs[j] = fmt.Errorf("row %d (%s): %s: %w", good[i].Row, good[i].ID, good[i].Image, err)
			return
		}
		hh := sha256.Sum256([]byte(good[i].ID))
		rng := rand.New(rand.NewPCG(uint64(cfg.Seed)^0x6f626a, binary.LittleEndian.Uint64(hh[:8])^uint64(j)))
		v, truth := augScene(toRGBA(img), rng, func() image.Image {
			t, err := decode(tex[j])
			if err != nil {
				return nil // a plain scene instead
			}
			return t
		})
		fm, c, side, err := emb.Map(v)
		if err != nil {
			errs[j] = err
			return
		}
		scenes[j] = scene{fm, c, side, v.Rect, truth}
		prog.Add(1)
	})
	prog.Finish()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("objectness: %w", err)
		}
	}
	c, side := scenes[0].c, scenes[0].side
	samples := make([]objectness.Sample, n)
	for j := range samples {
		s := scenes[j]
		samples[j] = objectness.Sample{Map: s.fm, Cover: objectness.Cover(s.truth, s.bounds, side, side)}
	}
	m, err := objectness.Train(samples, c, side*side, objectness.TrainOptions{})
	if err != nil {
		return nil, err
	}
	res := &objectnessResult{Map: m}
	for _, s := range scenes[n:] {
		box, _, ok, err := m.Box(s.fm, side, side, s.bounds)
		if err != nil {
			return nil, err
		}
		if !ok {
			box = s.bounds // not found: the page searches the whole photo
		}
		res.IoU += objectness.IoU(box, s.truth)
		hb, _, _ := embed.Localise(s.fm, c, side, side, s.bounds)
		res.HeuristicIoU += objectness.IoU(hb, s.truth)
	}
	k := float64(len(scenes) - n)
	res.IoU /= k
	res.HeuristicIoU /= k
	return res, nil
}

// The cache file: the two IoUs (float64) and the finder's asset bytes.
func readObjectness(path string) (*objectnessResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("%d bytes", len(b))
	}
	m, err := objectness.Parse(b[16:])
	if err != nil {
		return nil, err
	}
	return &objectnessResult{Map: m,
		IoU:          math.Float64frombits(binary.LittleEndian.Uint64(b)),
		HeuristicIoU: math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))}, nil
}

func writeObjectness(path string, r *objectnessResult) error {
	mb, err := r.Map.MarshalBinary()
	if err != nil {
		return err
	}
	b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(r.IoU))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.HeuristicIoU))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, mb...), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
