package catalog

import "testing"

func TestParseThumb(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Thumb
	}{
		{"s.jpg#xywh=1,2,60,80", Thumb{File: "s.jpg", X: 1, Y: 2, W: 60, H: 80, Tile: true}},
		{"s.jpg#xywh=pixel:0,0,6,8", Thumb{File: "s.jpg", W: 6, H: 8, Tile: true}},
		{"dir/s.jpg", Thumb{File: "dir/s.jpg"}},
		{"s.jpg#xywh=1,2,0,8", Thumb{File: "s.jpg"}},  // empty tile
		{"s.jpg#xywh=1,2,3", Thumb{File: "s.jpg"}},    // three numbers
		{"s.jpg#xywh=-1,2,3,4", Thumb{File: "s.jpg"}}, // a sign
		{"s.jpg#xywh=+1,2,3,4", Thumb{File: "s.jpg"}}, // a sign
		{"s.jpg#xywh=1, 2,3,4", Thumb{File: "s.jpg"}}, // a space
		{"s.jpg#t=1", Thumb{File: "s.jpg"}},           // another fragment
		{"s.jpg#xywh=percent:1,2,3,4", Thumb{File: "s.jpg"}},
		{"", Thumb{}},
	} {
		if got := ParseThumb(tc.in); got != tc.want {
			t.Errorf("ParseThumb(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	tile := Thumb{File: "thumbs-1.jpg", X: 120, Y: 80, W: 60, H: 80, Tile: true}
	if got := ParseThumb(tile.String()); got != tile {
		t.Errorf("round trip %q → %+v", tile.String(), got)
	}
}

func TestAssetFilesFrom(t *testing.T) {
	whole := Asset{File: "a.bin", SHA256: "x", Size: 30}
	if f := whole.Files(); len(f) != 1 || f[0] != (Part{File: "a.bin", SHA256: "x", Size: 30}) {
		t.Errorf("Files of a whole asset: %+v", f)
	}
	split := Asset{File: "b.bin", Size: 30, Parts: []Part{{File: "b.0", Size: 10}, {File: "b.1", Size: 10}, {File: "b.2", Size: 10}}}
	for _, tc := range []struct {
		offset int64
		first  string
		from   int64
	}{{0, "b.0", 0}, {9, "b.0", 0}, {10, "b.1", 10}, {25, "b.2", 20}, {30, "b.2", 20}, {99, "b.2", 20}} {
		parts, from := split.FilesFrom(tc.offset)
		if parts[0].File != tc.first || from != tc.from {
			t.Errorf("FilesFrom(%d) = %s at %d, want %s at %d", tc.offset, parts[0].File, from, tc.first, tc.from)
		}
	}
	if parts, from := whole.FilesFrom(100); len(parts) != 1 || from != 0 {
		t.Errorf("a whole asset is never skipped: %+v %d", parts, from)
	}
}
