//go:build !js

package build

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand"
	"sort"

	"github.com/lookalike/lookalike/models/imageprep"
)

// Thumbnails are packed into sprite sheets so a results page costs a few
// requests instead of one per product. Items are assigned to sheets by
// visual similarity (recursive bisection of the embedding space within each
// section), so the lookalikes of a query tend to share sheets. docs/bench.md
// has the measured sheets-per-results-page figure.

// thumbLayout is the size of one thumbnail cell, how many a sheet holds,
// and the sheets' JPEG quality.
type thumbLayout struct {
	CellW, CellH int
	Cols, Rows   int
	Quality      int
}

func (l thumbLayout) perSheet() int { return l.Cols * l.Rows }

// thumbPlace says where an item's thumbnail is.
type thumbPlace struct {
	Sheet, X, Y int
}

// similarityOrder groups item indices into runs of at most per visually
// similar items, never mixing sections inside a run. Runs come out in a
// locality-keeping order (depth-first over the bisection tree).
func similarityOrder(vecs []float32, dim int, section []int, per int, seed int64) [][]int {
	bySection := map[int][]int{}
	var secs []int
	for i, s := range section {
		if _, ok := bySection[s]; !ok {
			secs = append(secs, s)
		}
		bySection[s] = append(bySection[s], i)
	}
	sort.Ints(secs)
	rng := rand.New(rand.NewSource(seed))
	var runs [][]int
	for _, s := range secs {
		runs = bisect(vecs, dim, bySection[s], per, rng, runs)
	}
	return runs
}

// bisect splits items along their principal direction until each group fits
// in per, appending the groups to out in a depth-first (locality keeping)
// order.
func bisect(vecs []float32, dim int, items []int, per int, rng *rand.Rand, out [][]int) [][]int {
	if len(items) <= per {
		return append(out, items)
	}
	dir := principal(vecs, dim, items, rng)
	type kv struct {
		item int
		p    float64
	}
	proj := make([]kv, len(items))
	for i, it := range items {
		v := vecs[it*dim : (it+1)*dim]
		var s float64
		for j, x := range v {
			s += float64(x) * dir[j]
		}
		proj[i] = kv{it, s}
	}
	sort.SliceStable(proj, func(a, b int) bool {
		if proj[a].p != proj[b].p {
			return proj[a].p < proj[b].p
		}
		return proj[a].item < proj[b].item
	})
	// Split at a multiple of per so sheets fill up.
	half := (len(items)/per + 1) / 2 * per
	if half <= 0 || half >= len(items) {
		half = len(items) / 2
	}
	left := make([]int, half)
	right := make([]int, len(items)-half)
	for i := range proj {
		if i < half {
			left[i] = proj[i].item
		} else {
			right[i-half] = proj[i].item
		}
	}
	out = bisect(vecs, dim, left, per, rng, out)
	return bisect(vecs, dim, right, per, rng, out)
}

// principal estimates the direction of largest variance with a few power
// iterations (deterministic for a seeded rng).
func principal(vecs []float32, dim int, items []int, rng *rand.Rand) []float64 {
	mean := make([]float64, dim)
	for _, it := range items {
		for j, x := range vecs[it*dim : (it+1)*dim] {
			mean[j] += float64(x)
		}
	}
	for j := range mean {
		mean[j] /= float64(len(items))
	}
	dir := make([]float64, dim)
	for j := range dir {
		dir[j] = rng.NormFloat64()
	}
	next := make([]float64, dim)
	for iter := 0; iter < 8; iter++ {
		clear(next)
		for _, it := range items {
			v := vecs[it*dim : (it+1)*dim]
			var s float64
			for j, x := range v {
				s += (float64(x) - mean[j]) * dir[j]
			}
			for j, x := range v {
				next[j] += s * (float64(x) - mean[j])
			}
		}
		var n float64
		for _, x := range next {
			n += x * x
		}
		n = math.Sqrt(n)
		if n == 0 {
			break
		}
		for j := range dir {
			dir[j] = next[j] / n
		}
	}
	return dir
}

// packSheets draws the thumbnails run by run into sheets. A run never spans
// two sheets unless it is larger than a sheet; small runs share sheets.
// thumb returns an item's thumbnail source image (nil draws a blank cell).
func packSheets(runs [][]int, n int, l thumbLayout, thumb func(item int) image.Image) ([][]byte, []thumbPlace, error) {
	places := make([]thumbPlace, n)
	var sheets [][]byte
	per := l.perSheet()
	var cur *image.RGBA
	used := 0
	flush := func() error {
		if cur == nil {
			return nil
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, cur, &jpeg.Options{Quality: l.Quality}); err != nil {
			return fmt.Errorf("thumbnails: %w", err)
		}
		sheets = append(sheets, buf.Bytes())
		cur, used = nil, 0
		return nil
	}
	for _, run := range runs {
		if used > 0 && used+len(run) > per {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
		for _, it := range run {
			if used == per {
				if err := flush(); err != nil {
					return nil, nil, err
				}
			}
			if cur == nil {
				cur = image.NewRGBA(image.Rect(0, 0, l.Cols*l.CellW, l.Rows*l.CellH))
				draw.Draw(cur, cur.Bounds(), image.White, image.Point{}, draw.Src)
			}
			x, y := (used%l.Cols)*l.CellW, (used/l.Cols)*l.CellH
			if src := thumb(it); src != nil {
				t := imageprep.Thumbnail(src, l.CellW, l.CellH)
				draw.Draw(cur, image.Rect(x, y, x+l.CellW, y+l.CellH), t, t.Bounds().Min, draw.Src)
			}
			places[it] = thumbPlace{Sheet: len(sheets), X: x, Y: y}
			used++
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	return sheets, places, nil
}
