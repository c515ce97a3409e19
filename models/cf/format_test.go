package cf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestNeighborsRoundTrip(t *testing.T) {
	rows := [][]Neighbor{
		{{1, 0.9}, {2, 0.25}},
		nil,
		{{0, 1}, {1, 0.3333}, {3, 0.001}},
		{{2, 0.5}},
	}
	b, err := EncodeNeighbors(rows, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HeaderSize+4*3*RecordSize || string(b[:4]) != Magic {
		t.Fatalf("%d bytes, magic %q", len(b), b[:4])
	}
	h, err := ReadHeader(bytes.NewReader(b[:HeaderSize]))
	if err != nil || h != (Header{Version: 1, Items: 4, K: 3}) {
		t.Fatalf("ReadHeader = %+v, %v", h, err)
	}
	back, _, err := DecodeNeighbors(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if len(back[i]) != len(rows[i]) {
			t.Fatalf("row %d: %v, want %v", i, back[i], rows[i])
		}
		for j := range rows[i] {
			if back[i][j].Item != rows[i][j].Item || math.Abs(float64(back[i][j].Score-rows[i][j].Score)) > 1e-3*float64(rows[i][j].Score)+1e-7 {
				t.Errorf("row %d slot %d: %+v, want %+v", i, j, back[i][j], rows[i][j])
			}
		}
	}
	// Same input, same bytes.
	b2, _ := EncodeNeighbors(rows, 3)
	if !bytes.Equal(b, b2) {
		t.Error("encoding is not deterministic")
	}
	// Rows longer than k are cut.
	cut, _ := EncodeNeighbors(rows, 1)
	back, _, err = DecodeNeighbors(cut)
	if err != nil || len(back[2]) != 1 || back[2][0].Item != 0 {
		t.Errorf("k=1: %v %v", back, err)
	}
}

func TestWriteNeighborsRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		rows [][]Neighbor
		k    int
	}{
		"k=0":         {[][]Neighbor{nil}, 0},
		"index range": {[][]Neighbor{{{1, 0.5}}}, 2},
		"negative":    {[][]Neighbor{{{-1, 0.5}}}, 2},
		"NaN score":   {[][]Neighbor{{{0, float32(math.NaN())}}}, 2},
		"huge score":  {[][]Neighbor{{{0, 1e9}}}, 2},
		"k too large": {[][]Neighbor{nil}, MaxK + 1},
	} {
		if _, err := EncodeNeighbors(tc.rows, tc.k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDecodeNeighborsRejects(t *testing.T) {
	good, err := EncodeNeighbors([][]Neighbor{{{1, 0.5}}, {{0, 0.5}}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"short":       {good[:10], "shorter"},
		"magic":       {mod(func(b []byte) []byte { b[0] = 'X'; return b }), "magic"},
		"version":     {mod(func(b []byte) []byte { b[4] = 9; return b }), "version"},
		"record size": {mod(func(b []byte) []byte { b[6] = 8; return b }), "record size"},
		"k zero":      {mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 0); return b }), "K = 0"},
		"truncated":   {good[:len(good)-1], "header says"},
		"trailing":    {append(append([]byte(nil), good...), 0), "header says"},
		"index":       {mod(func(b []byte) []byte { b[16] = 7; return b }), "≥ item count"},
		"after empty": {mod(func(b []byte) []byte {
			copy(b[16:], []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 0, 0x38})
			return b
		}), "after an empty slot"},
		"empty scored": {mod(func(b []byte) []byte { b[26] = 1; return b }), "empty slot with score"},
		"inf score":    {mod(func(b []byte) []byte { b[20], b[21] = 0x00, 0x7c; return b }), "not finite"},
		"huge items":   {mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], MaxAssetItems+1); return b }), "more than"},
	} {
		_, _, err := DecodeNeighbors(tc.data)
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrFormat containing %q", name, err, tc.want)
		}
	}
	if _, err := ReadHeader(bytes.NewReader(good[:5])); !errors.Is(err, ErrFormat) {
		t.Errorf("ReadHeader on 5 bytes: %v", err)
	}
}

func FuzzDecodeNeighbors(f *testing.F) {
	good, _ := EncodeNeighbors([][]Neighbor{{{1, 0.5}, {2, 0.25}}, nil, {{0, 1}}}, 2)
	f.Add(good)
	f.Add(good[:HeaderSize])
	f.Add([]byte("LKCF\x01\x00\x06\x00\x00\x00\x00\x00\x01\x00\x00\x00"))
	f.Add([]byte("LKCF\x01\x00\x06\x00\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, h, err := DecodeNeighbors(data)
		hh, herr := ReadHeader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if herr != nil || hh != h {
			t.Fatalf("ReadHeader %+v %v disagrees with DecodeNeighbors %+v", hh, herr, h)
		}
		again, err := EncodeNeighbors(rows, int(h.K))
		if err != nil {
			t.Fatalf("re-encoding a decoded asset: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoding changed the bytes")
		}
		back, _, err := DecodeNeighbors(again)
		if err != nil || !reflect.DeepEqual(back, rows) {
			t.Fatalf("second decode differs: %v", err)
		}
	})
}
