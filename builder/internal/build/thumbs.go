//go:build !js

package build

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math/rand"

	"github.com/lookalike/lookalike/models/imageprep"
)

// Thumbnails are packed into sprite sheets so a results page costs a few
// requests instead of one per product. Which sheet the page fetches is
// visible to anyone who sees its requests (the host, a proxy, a shared
// cache), so products are assigned to sheets in a seeded random order:
// a sheet holds products of every section, in no order a request could
// give away (it says which sheets hold the results, not what they are).
// docs/security.md says what an observer can still learn, and
// privacy="strict" fetches every sheet before the photo is chosen.

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

// randomOrder deals items 0..n-1 into runs of per in a seeded random
// order: the same catalogue and seed give the same sheets (builds stay
// reproducible), and neither a section, the catalogue's order nor visual
// similarity decides a product's sheet.
func randomOrder(n, per int, seed int64) [][]int {
	perm := rand.New(rand.NewSource(seed)).Perm(n)
	var runs [][]int
	for len(perm) > 0 {
		k := min(per, len(perm))
		runs = append(runs, perm[:k:k])
		perm = perm[k:]
	}
	return runs
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
