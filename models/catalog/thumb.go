package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// Thumb is a catalogue item's thumbnail reference: a whole image File, or
// (Tile) the rectangle X, Y, W, H of a sprite sheet, written
// "sheet.jpg#xywh=X,Y,W,H" (a W3C media-fragment rectangle). File is
// relative to the asset folder. The page's engine (wasm/engine) and the
// embed (static/lookalike/assets.js parseThumb) read it this way; the
// golden assets of models/jsformat check the embed.
type Thumb struct {
	File       string
	X, Y, W, H int
	Tile       bool
}

// String is the reference as the builder writes it.
func (t Thumb) String() string {
	if !t.Tile {
		return t.File
	}
	return fmt.Sprintf("%s#xywh=%d,%d,%d,%d", t.File, t.X, t.Y, t.W, t.H)
}

// ParseThumb reads a reference: "file#xywh=x,y,w,h" (decimal digits, W
// and H > 0; a "pixel:" unit is allowed) is a tile; anything else is a
// whole file (its fragment dropped).
func ParseThumb(s string) Thumb {
	file, frag, _ := strings.Cut(s, "#")
	t := Thumb{File: file}
	rect, ok := strings.CutPrefix(frag, "xywh=")
	if !ok {
		return t
	}
	p := strings.Split(strings.TrimPrefix(rect, "pixel:"), ",")
	if len(p) != 4 {
		return t
	}
	var v [4]int
	for i, f := range p {
		n, err := strconv.Atoi(f)
		if err != nil || strings.Trim(f, "0123456789") != "" {
			return t // digits only: no sign, no space
		}
		v[i] = n
	}
	if v[2] == 0 || v[3] == 0 {
		return t
	}
	t.X, t.Y, t.W, t.H, t.Tile = v[0], v[1], v[2], v[3], true
	return t
}
