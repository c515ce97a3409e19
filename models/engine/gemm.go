package engine

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// platformGemm, when non-nil, is offered every GEMM first. It computes the
// row-major product C[m×n] = A[m×k]·B[k×n] (C += A·B when accumulate is
// true), with leading dimensions lda, ldb and ldc (elements, not bytes), and
// returns true; returning false means "not handled here" and the engine
// falls back to its own blocked GEMM. It is set from an init function in a
// build-tagged file (gemm_wasm.go, `//go:build js && wasm`, for the
// WebAssembly SIMD128 kernel) and must be safe for concurrent use when the
// platform has threads. When it is set, Load keeps conv weights plain
// row-major (lda = k) so they can be handed over without repacking.
var platformGemm func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) bool

// forceGeneric makes every GEMM use the plain-Go kernel (see SetGemm).
var forceGeneric atomic.Bool

// SetGemm chooses the GEMM implementation for the whole process:
// "auto" (default: platform hook, then the fastest kernel this CPU has) or
// "generic" (the plain-Go reference, on every platform). Tests use it to
// compare the fast and generic paths. Safe for concurrent use, but a Run in
// flight may see either setting.
func SetGemm(mode string) error {
	switch mode {
	case "auto":
		forceGeneric.Store(false)
	case "generic":
		forceGeneric.Store(true)
	default:
		return fmt.Errorf("engine: unknown gemm mode %q (want auto or generic)", mode)
	}
	return nil
}

// GemmKernel names the GEMM the engine uses on this machine, for benchmark
// reports: "platform" when a platform hook (the wasm SIMD128 kernel) takes
// the GEMMs, else the micro-kernel ("avx512", "avx2", "generic").
func GemmKernel() string {
	if platformGemm != nil && !forceGeneric.Load() {
		return "platform"
	}
	return activeKernel().name
}

// microKernel computes one mr×nr tile: C = (acc ? C : 0) + Ap·Bp over kc,
// where Ap is a packed strip (kc groups of mr values) and Bp a packed strip
// (kc groups of nr values), then adds bias[r] to row r when bias is non-nil
// (mr values) and clamps at 0 when relu is set. c must hold mr rows of nr
// values at stride ldc.
type microKernel struct {
	name   string
	mr, nr int
	run    func(kc int, a, b, c []float32, ldc int, acc bool, bias []float32, relu bool)
}

// archKernel is the fastest kernel of this CPU, or nil (set by gemm_amd64.go).
var archKernel *microKernel

func activeKernel() *microKernel {
	if !forceGeneric.Load() && archKernel != nil {
		return archKernel
	}
	return &genericKernel
}

// matA is the left operand of a GEMM: either plain row-major (mr == 0, row
// stride ld) or packed in strips of mr rows over the full k (element (i,p)
// at (i/mr)*mr*k + p*mr + i%mr, rows zero-padded to a multiple of mr).
// Packed with mr == 1 is the same as plain row-major with ld == k.
type matA struct {
	data []float32
	ld   int
	mr   int
	k    int
	row0 int // first row used
}

// packMatrix packs the row-major m×k matrix a (row stride lda) into strips
// of mr rows. With mr == 1 the result is a plain copy.
func packMatrix(a []float32, lda, m, k, mr int) matA {
	strips := (m + mr - 1) / mr
	out := make([]float32, strips*mr*k)
	for i := 0; i < m; i++ {
		s, r := i/mr, i%mr
		dst := out[s*mr*k:]
		row := a[i*lda : i*lda+k]
		for p, v := range row {
			dst[p*mr+r] = v
		}
	}
	return matA{data: out, mr: mr, k: k, ld: k}
}

// epilogue is applied to C once the full product is in it: C[i][j] +=
// bias[i] (when bias is non-nil), then max(·, 0) when relu is set. bias is
// indexed by the row of this GEMM call.
type epilogue struct {
	bias []float32
	relu bool
}

func (e epilogue) empty() bool { return e.bias == nil && !e.relu }

// applyRows applies the epilogue to rows [i0,i1) × columns [j0,j1) of c.
func (e epilogue) apply(c []float32, ldc, i0, i1, j0, j1 int) {
	for i := i0; i < i1; i++ {
		row := c[i*ldc+j0 : i*ldc+j1]
		var b float32
		if e.bias != nil {
			b = e.bias[i]
		}
		if e.relu {
			for j, v := range row {
				v += b
				if v < 0 {
					v = 0
				}
				row[j] = v
			}
		} else if b != 0 {
			for j := range row {
				row[j] += b
			}
		}
	}
}

// Gemm computes the row-major product C[m×n] = A[m×k]·B[k×n], or C += A·B
// when accumulate is set, with leading dimensions lda, ldb, ldc in
// elements. It is the one GEMM the engine uses, exported for tests and
// benchmarks of other packages. Safe for concurrent use.
func Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	checkGemm(m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	gemm(m, n, k, matA{data: a, ld: lda, k: k}, b, ldb, c, ldc, accumulate, epilogue{})
}

func checkGemm(m, n, k, la, lda, lb, ldb, lc, ldc int) {
	need := func(rows, cols, ld, have int, what string) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols || (rows-1)*ld+cols > have {
			panic(fmt.Sprintf("engine: gemm: %s is %d elements, too small for %d×%d with stride %d", what, have, rows, cols, ld))
		}
	}
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("engine: gemm: negative size %d×%d×%d", m, n, k))
	}
	need(m, k, lda, la, "A")
	need(k, n, ldb, lb, "B")
	need(m, n, ldc, lc, "C")
}

// gemm is the entry point every kernel of the plan uses.
func gemm(m, n, k int, a matA, b []float32, ldb int, c []float32, ldc int, acc bool, ep epilogue) {
	if m == 0 || n == 0 {
		return
	}
	if platformGemm != nil && !forceGeneric.Load() && (a.mr == 0 || a.mr == 1) {
		lda := a.ld
		if a.mr == 1 {
			lda = a.k
		}
		if platformGemm(m, n, k, a.data[a.row0*lda:], lda, b, ldb, c, ldc, acc) {
			if !ep.empty() {
				ep.apply(c, ldc, 0, m, 0, n)
			}
			return
		}
	}
	kern := activeKernel()
	parts := gemmParts(m, n, k, kern)
	if parts <= 1 {
		sc := getScratch()
		gemmBlocked(kern, sc, m, n, k, a, b, ldb, c, ldc, acc, ep)
		putScratch(sc)
		return
	}
	j := getJob()
	j.kern, j.m, j.n, j.k, j.a, j.b, j.ldb, j.c, j.ldc, j.acc, j.ep = kern, m, n, k, a, b, ldb, c, ldc, acc, ep
	j.parts = parts
	j.splitN = n >= 4*kern.nr*parts && (n >= m || m < kern.mr*parts)
	runParallel(j, parts, &j.wg)
	*j = gemmJob{}
	putJob(j)
}

// partRunner is work split into parts that run on different goroutines.
type partRunner interface {
	runPart(part int, sc *gemmScratch)
}

// runParallel runs parts 1..parts-1 of r on the pool's workers and part 0
// on the caller, and returns when all are done. wg must be idle; it is
// passed in (not allocated) so a warm call allocates nothing.
func runParallel(r partRunner, parts int, wg *sync.WaitGroup) {
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		pool.tasks <- gemmTask{job: r, part: p, wg: wg}
	}
	sc := getScratch()
	r.runPart(0, sc)
	putScratch(sc)
	wg.Wait()
}

// gemmParts decides how many goroutines share one GEMM.
func gemmParts(m, n, k int, kern *microKernel) int {
	p := pool.size()
	if p <= 1 {
		return 1
	}
	if work := m * n * k; work < 1<<18 {
		return 1
	}
	// Each part needs at least a few tiles along the split dimension.
	maxN := n / (2 * kern.nr)
	maxM := m / kern.mr
	if maxN < p && maxM < p {
		if maxN > maxM {
			p = max(maxN, 1)
		} else {
			p = max(maxM, 1)
		}
	}
	return p
}

type gemmJob struct {
	kern   *microKernel
	m      int
	n      int
	k      int
	a      matA
	b      []float32
	ldb    int
	c      []float32
	ldc    int
	acc    bool
	ep     epilogue
	parts  int
	splitN bool
	wg     sync.WaitGroup
}

// runPart computes the part-th slice of the job (split along N or M,
// aligned to the kernel's tile).
func (j *gemmJob) runPart(part int, sc *gemmScratch) {
	if j.splitN {
		lo, hi := splitRange(j.n, j.parts, part, j.kern.nr)
		if lo < hi {
			gemmBlocked(j.kern, sc, j.m, hi-lo, j.k, j.a, j.b[lo:], j.ldb, j.c[lo:], j.ldc, j.acc, j.ep)
		}
		return
	}
	lo, hi := splitRange(j.m, j.parts, part, j.kern.mr)
	if lo >= hi {
		return
	}
	a := j.a
	a.row0 += lo
	ep := j.ep
	if ep.bias != nil {
		ep.bias = ep.bias[lo:hi]
	}
	gemmBlocked(j.kern, sc, hi-lo, j.n, j.k, a, j.b, j.ldb, j.c[lo*j.ldc:], j.ldc, j.acc, ep)
}

// splitRange returns the part-th of parts ranges covering [0,n), with
// boundaries on multiples of align.
func splitRange(n, parts, part, align int) (int, int) {
	units := (n + align - 1) / align
	lo := units * part / parts * align
	hi := units * (part + 1) / parts * align
	return min(lo, n), min(hi, n)
}

type gemmTask struct {
	job  partRunner
	part int
	wg   *sync.WaitGroup
}

// pool holds the worker goroutines (GOMAXPROCS-1 of them; the caller does
// one part itself) and free lists of jobs and scratch buffers, so a GEMM
// allocates nothing once warm.
var pool gemmPool

type gemmPool struct {
	once    sync.Once
	workers int
	tasks   chan gemmTask
	jobs    chan *gemmJob
	scratch chan *gemmScratch
}

func (p *gemmPool) init() {
	p.once.Do(func() {
		p.workers = runtime.GOMAXPROCS(0) - 1
		p.tasks = make(chan gemmTask, 64)
		p.jobs = make(chan *gemmJob, 16)
		p.scratch = make(chan *gemmScratch, 16)
		for i := 0; i < p.workers; i++ {
			go func() {
				sc := &gemmScratch{}
				for t := range p.tasks {
					t.job.runPart(t.part, sc)
					t.wg.Done()
				}
			}()
		}
	})
}

// size is the number of parts a GEMM may be split into.
func (p *gemmPool) size() int {
	p.init()
	return min(p.workers+1, runtime.GOMAXPROCS(0))
}

func getJob() *gemmJob {
	pool.init()
	select {
	case j := <-pool.jobs:
		return j
	default:
		return &gemmJob{}
	}
}

func putJob(j *gemmJob) {
	select {
	case pool.jobs <- j:
	default:
	}
}

func getScratch() *gemmScratch {
	pool.init()
	select {
	case s := <-pool.scratch:
		return s
	default:
		return &gemmScratch{}
	}
}

func putScratch(s *gemmScratch) {
	select {
	case pool.scratch <- s:
	default:
	}
}
