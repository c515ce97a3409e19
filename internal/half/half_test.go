package half

import (
	"math"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		f float32
		h uint16
	}{
		{0, 0}, {1, 0x3c00}, {0.5, 0x3800}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00},
		{0.1, 0x2e66}, {float32(math.Ldexp(1, -24)), 0x0001}, {float32(math.Ldexp(1, -14)), 0x0400},
		{1e-9, 0}, {1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02}, // ties to even
	} {
		if got := From32(tc.f); got != tc.h {
			t.Errorf("From32(%g) = %#04x, want %#04x", tc.f, got, tc.h)
		}
	}
	// Every finite half survives a round trip through float32.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 {
			continue
		}
		if back := From32(To32(uint16(h))); back != uint16(h) {
			t.Fatalf("half %#04x → %g → %#04x", h, To32(uint16(h)), back)
		}
	}
}
