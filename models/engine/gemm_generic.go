package engine

// The plain-Go GEMM: a BLIS-style blocked driver (B packed into kc×nr
// panels, A packed into mr×kc strips or taken straight from weights packed
// at load) around a register-tile micro-kernel. Every platform can run it;
// the amd64 assembly kernels plug into the same driver.

// Block sizes (elements): a kc×nr B panel stays in L1 while A strips stream
// from L2; the kc×nc packed B block is meant for L2/L3.
const (
	blockK = 256
	blockM = 192
	blockN = 2048
)

// gemmScratch holds the packing buffers of one goroutine.
type gemmScratch struct {
	a, b, tile []float32
	qb         []byte      // packed int8 B block (qgemm.go)
	qtile      []float32   // int8 edge tile
	qmax       [16]float32 // int8 running max of what was stored (qMax)
}

func growTo(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// gemmBlocked computes C = (acc ? C : 0) + A·B, then the epilogue, on one
// goroutine.
func gemmBlocked(kern *microKernel, sc *gemmScratch, m, n, k int, a matA, b []float32, ldb int, c []float32, ldc int, acc bool, ep epilogue) {
	mr, nr := kern.mr, kern.nr
	if k == 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		if !ep.empty() {
			ep.apply(c, ldc, 0, m, 0, n)
		}
		return
	}
	mcMax := roundUp(blockM, mr)
	kcMax := min(blockK, k)
	ncMax := roundUp(min(blockN, n), nr)
	sc.b = growTo(sc.b, kcMax*ncMax)
	sc.tile = growTo(sc.tile, mr*nr)
	direct := a.mr == mr
	if !direct {
		sc.a = growTo(sc.a, mcMax*kcMax)
	}
	for jc := 0; jc < n; jc += blockN {
		nc := min(blockN, n-jc)
		nStrips := (nc + nr - 1) / nr
		for pc := 0; pc < k; pc += blockK {
			kc := min(blockK, k-pc)
			packB(sc.b, b[pc*ldb+jc:], ldb, kc, nc, nr)
			accHere := acc || pc > 0
			last := pc+kc == k
			for ic := 0; ic < m; ic += mcMax {
				mc := min(mcMax, m-ic)
				mStrips := (mc + mr - 1) / mr
				useDirect := direct && (a.row0+ic)%mr == 0
				if !useDirect {
					packABlock(sc.a, a, ic, mc, pc, kc, mr)
				}
				for jr := 0; jr < nStrips; jr++ {
					bp := sc.b[jr*nr*kc : (jr+1)*nr*kc]
					j0 := jc + jr*nr
					nw := min(nr, n-j0)
					for ir := 0; ir < mStrips; ir++ {
						i0 := ic + ir*mr
						mh := min(mr, m-i0)
						var ap []float32
						if useDirect {
							s := (a.row0 + i0) / mr
							off := s*mr*a.k + pc*mr
							ap = a.data[off : off+kc*mr]
						} else {
							ap = sc.a[ir*mr*kc : (ir+1)*mr*kc]
						}
						if mh == mr && nw == nr {
							var bias []float32
							relu := false
							if last {
								if ep.bias != nil {
									bias = ep.bias[i0 : i0+mr]
								}
								relu = ep.relu
							}
							kern.run(kc, ap, bp, c[i0*ldc+j0:], ldc, accHere, bias, relu)
							continue
						}
						kern.run(kc, ap, bp, sc.tile, nr, false, nil, false)
						for i := 0; i < mh; i++ {
							dst := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+nw]
							src := sc.tile[i*nr : i*nr+nw]
							if accHere {
								for j, v := range src {
									dst[j] += v
								}
							} else {
								copy(dst, src)
							}
						}
						if last && !ep.empty() {
							ep.apply(c, ldc, i0, i0+mh, j0, j0+nw)
						}
					}
				}
			}
		}
	}
}

// packB copies the kc×nc block of b (row stride ldb) into panels of nr
// columns: panel t holds kc rows of nr values, zero-padded past nc.
func packB(dst, b []float32, ldb, kc, nc, nr int) {
	strips := (nc + nr - 1) / nr
	for t := 0; t < strips; t++ {
		j0 := t * nr
		w := min(nr, nc-j0)
		panel := dst[t*nr*kc : (t+1)*nr*kc]
		if w == nr {
			// Fixed-size array copies compile to inline vector moves; a
			// copy() per short row would call memmove each time.
			switch nr {
			case 32:
				for p := 0; p < kc; p++ {
					*(*[32]float32)(panel[p*32:]) = *(*[32]float32)(b[p*ldb+j0:])
				}
			case 16:
				for p := 0; p < kc; p++ {
					*(*[16]float32)(panel[p*16:]) = *(*[16]float32)(b[p*ldb+j0:])
				}
			default:
				for p := 0; p < kc; p++ {
					copy(panel[p*nr:p*nr+nr], b[p*ldb+j0:p*ldb+j0+nr])
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			row := panel[p*nr : p*nr+nr]
			copy(row, b[p*ldb+j0:p*ldb+j0+w])
			clear(row[w:])
		}
	}
}

// packABlock packs rows [ic,ic+mc) and columns [pc,pc+kc) of a into strips
// of mr rows (strip s at s*mr*kc), zero-padding missing rows.
func packABlock(dst []float32, a matA, ic, mc, pc, kc, mr int) {
	strips := (mc + mr - 1) / mr
	for s := 0; s < strips; s++ {
		strip := dst[s*mr*kc : (s+1)*mr*kc]
		for r := 0; r < mr; r++ {
			i := ic + s*mr + r
			if i >= ic+mc {
				for p := 0; p < kc; p++ {
					strip[p*mr+r] = 0
				}
				continue
			}
			gi := a.row0 + i
			if a.mr == 0 {
				row := a.data[gi*a.ld+pc : gi*a.ld+pc+kc]
				for p, v := range row {
					strip[p*mr+r] = v
				}
				continue
			}
			src := a.data[(gi/a.mr)*a.mr*a.k+gi%a.mr:]
			for p := 0; p < kc; p++ {
				strip[p*mr+r] = src[(pc+p)*a.mr]
			}
		}
	}
}

// genericKernel is the plain-Go 4×4 register tile.
var genericKernel = microKernel{name: "generic", mr: 4, nr: 4, run: func(kc int, a, b, c []float32, ldc int, acc bool, bias []float32, relu bool) {
	kernelGo4x4(kc, a, b, c, ldc, acc)
	if bias != nil || relu {
		epilogue{bias: bias, relu: relu}.apply(c, ldc, 0, 4, 0, 4)
	}
}}

func kernelGo4x4(kc int, a, b, c []float32, ldc int, acc bool) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a = a[:4*kc]
	b = b[:4*kc]
	for p := 0; p < kc; p++ {
		av := a[4*p : 4*p+4 : 4*p+4]
		bv := b[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		a0 := av[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := av[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := av[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := av[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r0 := c[0:4:4]
	r1 := c[ldc : ldc+4 : ldc+4]
	r2 := c[2*ldc : 2*ldc+4 : 2*ldc+4]
	r3 := c[3*ldc : 3*ldc+4 : 3*ldc+4]
	if acc {
		r0[0], r0[1], r0[2], r0[3] = r0[0]+c00, r0[1]+c01, r0[2]+c02, r0[3]+c03
		r1[0], r1[1], r1[2], r1[3] = r1[0]+c10, r1[1]+c11, r1[2]+c12, r1[3]+c13
		r2[0], r2[1], r2[2], r2[3] = r2[0]+c20, r2[1]+c21, r2[2]+c22, r2[3]+c23
		r3[0], r3[1], r3[2], r3[3] = r3[0]+c30, r3[1]+c31, r3[2]+c32, r3[3]+c33
		return
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
	r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
}
