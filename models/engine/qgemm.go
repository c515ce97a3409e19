package engine

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// The int8 GEMM of the quantised convolutions (quant.go):
//
//	C[i][j] = relu?( float32(Σ_p A[i][p]·B[p][j])·rs[i] + bias[i] (+ C[i][j]) )
//
// with A the weights as int8 (per-row scales folded into rs) and B the
// activations as uint8, accumulated exactly in int32. Every kernel —
// plain Go, AVX-512 VNNI, AVX2, the WebAssembly SIMD128 module — computes
// the same integers and applies the epilogue in the same order with
// separate float32 multiply and add, so all of them give bit-identical C:
// the builder's catalogue vectors (native) and the shopper's query vector
// (js/wasm) come from the same numbers.
//
// No overflow is possible: |A| ≤ 127 and B ≤ 255, so one product is at
// most 32,385 in size and K ≤ 65,535 keeps the sum inside int32.
const qMaxK = 1<<16 - 1

// Operand layouts. K is padded with zeros to a multiple of 4 (kq groups
// of four). A is packed once at load into strips of mr rows, B per call
// into panels of nr columns:
//
//	quad layout (u8·s8 dot products of four, VNNI / wasm / Go):
//	  A strip: [kq][mr][4]int8     — row r's four weights of group q together
//	  B panel: [kq][nr][4]uint8    — column j's four activations together
//	pair layout (i16 multiply-add of two, AVX2 vpmaddwd):
//	  A strip: [2·kq][mr][2]int16  — little-endian in the byte slice
//	  B panel: [2·kq][nr][2]int16
//
// Rows past m and columns past n are zero in the packed operands.
type qLayout struct {
	mr, nr int
	pair   bool
}

// elemBytes is the size of one packed element.
func (l qLayout) elemBytes() int {
	if l.pair {
		return 2
	}
	return 1
}

// stripBytes is the size of one packed A strip (mr rows × 4·kq).
func (l qLayout) stripBytes(kq int) int { return l.mr * 4 * kq * l.elemBytes() }

// panelBytes is the size of one packed B panel (4·kq × nr).
func (l qLayout) panelBytes(kq int) int { return l.nr * 4 * kq * l.elemBytes() }

// aOffset is the byte offset of element (r, p) of a strip.
func (l qLayout) aOffset(r, p int) int {
	if l.pair {
		return ((p/2)*l.mr*2 + r*2 + p%2) * 2
	}
	return (p/4)*l.mr*4 + r*4 + p%4
}

// bOffset is the byte offset of element (p, j) of a panel.
func (l qLayout) bOffset(p, j int) int {
	if l.pair {
		return ((p/2)*l.nr*2 + j*2 + p%2) * 2
	}
	return (p/4)*l.nr*4 + j*4 + p%4
}

// qKernel is an int8 register-tile micro-kernel: one full mr×nr tile of C
// over kq groups from a packed A strip and a packed B panel, with the
// epilogue: rs and bias hold mr values, flags has qAccumulate (add the
// old C), qRelu and qMax (raise each lane of mx to the largest value
// stored; lane use is the kernel's, their max is what counts).
type qKernel struct {
	name string
	qLayout
	run func(kq int, a, b []byte, c []float32, ldc int, rs, bias []float32, flags int, mx *[16]float32)
}

const (
	qAccumulate = 1
	qRelu       = 2
	// 4 is the wasm kernel's relaxed dot tile (qgemm_wasm.go).
	qMax = 8 // the GEMM returns the largest value it wrote
)

// negInf32 is −Inf, the start of a running max.
var negInf32 = float32(math.Inf(-1))

func maxLanes(mx *[16]float32) float32 {
	m := mx[0]
	for _, v := range mx[1:] {
		m = max(m, v)
	}
	return m
}

// archQKernel is the fastest int8 kernel of this CPU, or nil (set by
// qgemm_amd64.go).
var archQKernel *qKernel

func activeQKernel() *qKernel {
	if !forceGeneric.Load() && archQKernel != nil {
		return archQKernel
	}
	return &genericQKernel
}

// qweights is a weight matrix quantised per row (output channel) to int8
// and packed for one kernel's layout.
type qweights struct {
	m, k, kq int
	scale    []float32 // per row: dequantised w = q·scale
	lay      qLayout
	a        []byte // ⌈m/mr⌉ strips
	id       uint32 // unique per packed matrix (for kernels that cache weights)
}

var qweightsIDs atomic.Uint32

// quantizeWeights quantises the row-major m×k matrix w symmetrically per
// row: scale = max|w|/127, q = round-half-even(w·127/max). The int8
// ResNet50's weights come back exactly as the file stores them; 4-bit or
// float weights get the nearest int8 level.
func quantizeWeights(w []float32, m, k int, lay qLayout) *qweights {
	q := &qweights{m: m, k: k, kq: (k + 3) / 4, scale: make([]float32, m), lay: lay, id: qweightsIDs.Add(1)}
	strips := (m + lay.mr - 1) / lay.mr
	sb := lay.stripBytes(q.kq)
	q.a = make([]byte, strips*sb)
	if quantizeWeightsFast != nil && lay == genericQKernel.qLayout && quantizeWeightsFast(q.a, q.scale, w, m, k) {
		return q
	}
	for i := 0; i < m; i++ {
		row := w[i*k : (i+1)*k]
		// max |w| on the bits: for non-negative floats the order of the
		// bit patterns is the order of the values (and cheaper in wasm).
		var mb uint32
		for _, v := range row {
			mb = max(mb, math.Float32bits(v)&^(1<<31))
		}
		if mb == 0 || mb >= 0x7f800000 {
			continue // a zero row, or one with Inf or NaN: all-zero weights, scale 0
		}
		mx := math.Float32frombits(mb)
		q.scale[i] = mx / 127
		inv := 127 / mx
		strip := q.a[(i/lay.mr)*sb : (i/lay.mr+1)*sb]
		r := i % lay.mr
		if lay.pair {
			for p, v := range row {
				putQ(strip, lay.aOffset(r, p), quant7(v, inv), true)
			}
			continue
		}
		// Quad layout: element (r, p) at (p/4)·4·mr + 4r + p%4.
		for p := 0; p+4 <= len(row); p += 4 {
			d := strip[(p/4)*4*lay.mr+4*r:][:4:4]
			d[0], d[1], d[2], d[3] = byte(quant7(row[p], inv)), byte(quant7(row[p+1], inv)), byte(quant7(row[p+2], inv)), byte(quant7(row[p+3], inv))
		}
		for p := len(row) &^ 3; p < len(row); p++ {
			strip[(p/4)*4*lay.mr+4*r+p%4] = byte(quant7(row[p], inv))
		}
	}
	return q
}

// quantizeWeightsFast, when set (the wasm kernel's, qgemm_wasm.go), does
// quantizeWeights' work for the generic layout into zeroed dst and scale,
// exactly; false means "not done".
var quantizeWeightsFast func(dst []byte, scale, w []float32, m, k int) bool

// quant7 is round-half-even(v·inv) clamped to ±127 (the weights' level),
// for |v·inv| ≤ 2^22: adding 1.5·2^23 rounds to an integer, ties to even.
// The conversions keep Go from fusing the multiply and the add.
func quant7(v, inv float32) int {
	const magic = 12582912
	x := int(float32(float32(v*inv)+magic) - magic)
	return max(-127, min(127, x))
}

func putQ(dst []byte, off, v int, pair bool) {
	if pair {
		dst[off] = byte(v)
		dst[off+1] = byte(v >> 8)
		return
	}
	dst[off] = byte(v)
}

func getQA(src []byte, off int, pair bool) int32 {
	if pair {
		return int32(int16(uint16(src[off]) | uint16(src[off+1])<<8))
	}
	return int32(int8(src[off]))
}

// at returns the quantised weight (i, p).
func (q *qweights) at(i, p int) int32 {
	sb := q.lay.stripBytes(q.kq)
	return getQA(q.a[(i/q.lay.mr)*sb:], q.lay.aOffset(i%q.lay.mr, p), q.lay.pair)
}

// repack returns the weights packed for another layout.
func (q *qweights) repack(lay qLayout) *qweights {
	if lay == q.lay {
		return q
	}
	out := &qweights{m: q.m, k: q.k, kq: q.kq, scale: q.scale, lay: lay, id: qweightsIDs.Add(1)}
	sb := lay.stripBytes(q.kq)
	out.a = make([]byte, (q.m+lay.mr-1)/lay.mr*sb)
	for i := 0; i < q.m; i++ {
		strip := out.a[(i/lay.mr)*sb:]
		for p := 0; p < q.k; p++ {
			putQ(strip, lay.aOffset(i%lay.mr, p), int(q.at(i, p)), lay.pair)
		}
	}
	return out
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// quant8 is the activation quantiser every path implements exactly:
// round-half-even(x·inv), clamped to [0, 255] (x·inv rounded to float32
// first, as a separate multiply).
func quant8(x, inv float32) uint8 {
	v := x * inv
	if !(v > 0) {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(math.RoundToEven(float64(v)))
}

// qsrc is the B operand of an int8 GEMM, row-major with k rows: float32
// values quantised with inv while packing (a 1×1 convolution reads its
// input this way), or values already quantised (an im2col'd input).
type qsrc struct {
	f32 []float32
	u8  []byte
	ld  int
	inv float32
}

// packQPanel packs columns [j0, j0+w) (w ≤ nr) of the k×n source into one
// panel of lay, zero-padding rows past k and columns past w.
func packQPanel(dst []byte, src qsrc, k, kq, j0, w int, lay qLayout) {
	dst = dst[:lay.panelBytes(kq)]
	if w < lay.nr || k%4 != 0 {
		clear(dst)
	}
	packQRows(dst, src, 0, k, j0, w, lay)
}

// packQRows packs rows [p0, p1) of a panel (see packQPanel).
func packQRows(dst []byte, src qsrc, p0, p1, j0, w int, lay qLayout) {
	for p := p0; p < p1; p++ {
		for j := 0; j < w; j++ {
			var v uint8
			if src.u8 != nil {
				v = src.u8[p*src.ld+j0+j]
			} else {
				v = quant8(src.f32[p*src.ld+j0+j], src.inv)
			}
			off := lay.bOffset(p, j)
			dst[off] = v
			if lay.pair {
				dst[off+1] = 0
			}
		}
	}
}

// packQPanelFast packs a panel with the kernel-specific routine when there
// is one (qgemm_amd64.go sets it), else with packQPanel.
var packQPanelFast = func(dst []byte, src qsrc, k, kq, j0, w int, lay qLayout) {
	packQPanel(dst, src, k, kq, j0, w, lay)
}

// platformQgemm, when non-nil, is offered every int8 GEMM first (the
// js/wasm SIMD128 kernel, qgemm_wasm.go). It computes rows [0, m) of C
// from weights packed in the generic layout and reports whether it did
// (and with qMax the largest value written).
var platformQgemm func(w *qweights, row0, m, n int, b qsrc, c []float32, ldc int, rs, bias []float32, flags int) (bool, float32)

// qRowPad is a multiple of every kernel's mr: rs and bias are padded to it.
const qRowPad = 48

// platformQName names the platform's int8 GEMM (set with platformQgemm).
var platformQName string

// Int8Kernel names the int8 GEMM the engine uses here, for benchmark
// reports: "wasm simd128", "wasm relaxed dot", "avx512vnni", "avx2" or
// "generic".
func Int8Kernel() string {
	if platformQgemm != nil && !forceGeneric.Load() {
		return platformQName
	}
	return activeQKernel().name
}

// qgemm computes rows [row0, row0+m) of the int8 product with its
// epilogue into C (row row0 of the weights is row 0 of C, rs and bias):
// rs and bias hold at least roundUp(m, qRowPad) values. B is the k×n
// operand. With qMax in flags it returns the largest value written (the
// next convolution's quantisation scale, without another pass over C).
func qgemm(w *qweights, row0, m, n int, b qsrc, c []float32, ldc int, rs, bias []float32, flags int) float32 {
	if m <= 0 || n <= 0 {
		return negInf32
	}
	if platformQgemm != nil && !forceGeneric.Load() {
		if ok, mx := platformQgemm(w, row0, m, n, b, c, ldc, rs, bias, flags); ok {
			return mx
		}
	}
	kern := activeQKernel()
	if w.lay != kern.qLayout {
		w = w.repack(kern.qLayout) // SetGemm("generic") on weights packed for another kernel
	}
	parts := qgemmParts(m, n, w.k, kern)
	if parts <= 1 {
		sc := getScratch()
		mx := qgemmBlocked(kern, sc, w, row0, m, 0, n, b, c, ldc, rs, bias, flags)
		putScratch(sc)
		return mx
	}
	j := qjobs.Get().(*qgemmJob)
	maxes := j.maxes
	*j = qgemmJob{kern: kern, w: w, row0: row0, m: m, n: n, b: b, c: c, ldc: ldc, rs: rs, bias: bias, flags: flags, parts: parts}
	j.maxes = maxes[:0]
	for range parts {
		j.maxes = append(j.maxes, negInf32)
	}
	panels := (n + kern.nr - 1) / kern.nr
	j.splitN = panels >= 2*parts || m < kern.mr*parts
	runParallel(j, parts, &j.wg)
	mx := negInf32
	for _, v := range j.maxes {
		mx = max(mx, v)
	}
	maxes = j.maxes
	*j = qgemmJob{maxes: maxes}
	qjobs.Put(j)
	return mx
}

var qjobs = sync.Pool{New: func() any { return new(qgemmJob) }}

func qgemmParts(m, n, k int, kern *qKernel) int {
	p := pool.size()
	if p <= 1 || m*n*k < 1<<19 {
		return 1
	}
	if n/kern.nr < p && m/kern.mr < p {
		return max(1, max(n/kern.nr, m/kern.mr))
	}
	return p
}

type qgemmJob struct {
	kern       *qKernel
	w          *qweights
	row0, m, n int
	b          qsrc
	c          []float32
	ldc        int
	rs, bias   []float32
	flags      int
	parts      int
	splitN     bool
	maxes      []float32 // per part, with qMax
	wg         sync.WaitGroup
}

func (j *qgemmJob) runPart(part int, sc *gemmScratch) {
	if j.splitN {
		lo, hi := splitRange(j.n, j.parts, part, j.kern.nr)
		if lo < hi {
			j.maxes[part] = qgemmBlocked(j.kern, sc, j.w, j.row0, j.m, lo, hi, j.b, j.c, j.ldc, j.rs, j.bias, j.flags)
		}
		return
	}
	lo, hi := splitRange(j.m, j.parts, part, j.kern.mr)
	if lo < hi {
		j.maxes[part] = qgemmBlocked(j.kern, sc, j.w, j.row0+lo, hi-lo, 0, j.n, j.b, j.c[lo*j.ldc:], j.ldc, j.rs[lo:], j.bias[lo:], j.flags)
	}
}

// qBlockBytes bounds the packed B block one goroutine keeps hot (L2).
const qBlockBytes = 512 << 10

// qgemmBlocked computes rows [row0, row0+m) × columns [j0, j1) on one
// goroutine: B is packed block by block (all of K, as many panels as fit
// qBlockBytes), then every A strip runs over the block's panels. row0
// must be a multiple of mr. With qMax it returns the largest value written.
func qgemmBlocked(kern *qKernel, sc *gemmScratch, w *qweights, row0, m, j0, j1 int, b qsrc, c []float32, ldc int, rs, bias []float32, flags int) float32 {
	lay := kern.qLayout
	mr, nr, kq := lay.mr, lay.nr, w.kq
	if row0%mr != 0 {
		panic(fmt.Sprintf("engine: qgemm: first row %d is not a multiple of %d", row0, mr))
	}
	pb, sb := lay.panelBytes(kq), lay.stripBytes(kq)
	blockPanels := max(1, qBlockBytes/pb)
	sc.qb = growBytes(sc.qb, min(blockPanels, (j1-j0+nr-1)/nr)*pb)
	sc.qtile = growTo(sc.qtile, mr*nr)
	mx := &sc.qmax // in the scratch: a local would escape through kern.run
	for i := range mx {
		mx[i] = negInf32
	}
	for jc := j0; jc < j1; jc += blockPanels * nr {
		je := min(j1, jc+blockPanels*nr)
		np := (je - jc + nr - 1) / nr
		for t := 0; t < np; t++ {
			jj := jc + t*nr
			packQPanelFast(sc.qb[t*pb:(t+1)*pb], b, w.k, kq, jj, min(nr, je-jj), lay)
		}
		for i0 := 0; i0 < m; i0 += mr {
			mh := min(mr, m-i0)
			strip := w.a[(row0+i0)/mr*sb : (row0+i0)/mr*sb+sb]
			rsI, biasI := rs[i0:i0+mr], bias[i0:i0+mr]
			for t := 0; t < np; t++ {
				jj := jc + t*nr
				nw := min(nr, je-jj)
				panel := sc.qb[t*pb : (t+1)*pb]
				if mh == mr && nw == nr {
					kern.run(kq, strip, panel, c[i0*ldc+jj:], ldc, rsI, biasI, flags, mx)
					continue
				}
				// Edge tile: compute it whole into the tile buffer (same
				// epilogue up to the old-C add), then finish the valid part.
				kern.run(kq, strip, panel, sc.qtile, nr, rsI, biasI, 0, nil)
				for i := 0; i < mh; i++ {
					dst := c[(i0+i)*ldc+jj : (i0+i)*ldc+jj+nw]
					src := sc.qtile[i*nr : i*nr+nw]
					for x, v := range src {
						if flags&qAccumulate != 0 {
							v += dst[x]
						}
						if flags&qRelu != 0 {
							v = max(v, 0)
						}
						dst[x] = v
						mx[0] = max(mx[0], v)
					}
				}
			}
		}
	}
	return maxLanes(mx)
}

func growBytes(s []byte, n int) []byte {
	if cap(s) < n {
		return make([]byte, n)
	}
	return s[:n]
}

// qEpilogue finishes one value the way every kernel does.
func qEpilogue(acc int32, rs, bias float32, old *float32, flags int) {
	// The explicit conversion rounds the product: no fused multiply-add
	// on any platform (the kernels multiply and add separately).
	v := float32(float32(acc)*rs) + bias
	if flags&qAccumulate != 0 {
		v += *old
	}
	if flags&qRelu != 0 {
		v = max(v, 0)
	}
	*old = v
}

// genericQKernel is the plain-Go 4×4 tile over the quad layout.
var genericQKernel = qKernel{name: "generic", qLayout: qLayout{mr: 4, nr: 4}, run: kernelQGo4x4}

func kernelQGo4x4(kq int, a, b []byte, c []float32, ldc int, rs, bias []float32, flags int, mx *[16]float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 int32
	var c20, c21, c22, c23, c30, c31, c32, c33 int32
	a = a[:16*kq]
	b = b[:16*kq]
	for q := 0; q < kq; q++ {
		av := a[16*q : 16*q+16 : 16*q+16]
		bv := b[16*q : 16*q+16 : 16*q+16]
		for t := 0; t < 4; t++ {
			b0, b1, b2, b3 := int32(bv[t]), int32(bv[4+t]), int32(bv[8+t]), int32(bv[12+t])
			a0 := int32(int8(av[t]))
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			a1 := int32(int8(av[4+t]))
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			a2 := int32(int8(av[8+t]))
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			a3 := int32(int8(av[12+t]))
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
	}
	acc := [4][4]int32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	for i := 0; i < 4; i++ {
		row := c[i*ldc : i*ldc+4 : i*ldc+4]
		for j := 0; j < 4; j++ {
			qEpilogue(acc[i][j], rs[i], bias[i], &row[j], flags)
			if flags&qMax != 0 {
				mx[j] = max(mx[j], row[j])
			}
		}
	}
}
