package engine

import "sync"

// Splitting the non-GEMM work (im2col, pooling) over the GEMM's worker
// goroutines. The jobs live in the Session, so a warm Run allocates
// nothing for them.

// minParallel is the smallest amount of work (in elements touched) worth
// handing to other goroutines.
const minParallel = 1 << 15

// planeRunner computes planes [lo, hi) of a step.
type planeRunner interface {
	runPlanes(s *Session, lo, hi int)
}

type planeJob struct {
	r     planeRunner
	s     *Session
	n     int
	parts int
	wg    sync.WaitGroup
}

func (j *planeJob) runPart(part int, _ *gemmScratch) {
	if lo, hi := splitRange(j.n, j.parts, part, 1); lo < hi {
		j.r.runPlanes(j.s, lo, hi)
	}
}

// forPlanes runs r over n planes, split over the workers when the work
// (n·perPlane elements) is worth it.
func (s *Session) forPlanes(r planeRunner, n, perPlane int) {
	parts := min(pool.size(), n)
	if parts <= 1 || n*perPlane < minParallel {
		r.runPlanes(s, 0, n)
		return
	}
	j := &s.planes
	j.r, j.s, j.n, j.parts = r, s, n, parts
	runParallel(j, parts, &j.wg)
	j.r, j.s = nil, nil
}

// im2colJob splits an im2col over input channels.
type im2colJob[T float32 | byte] struct {
	fn     func(dst, x []T, c int, win *window, g geom, pad T)
	dst, x []T
	win    *window
	g      geom
	pad    T
	parts  int
	c      int
	wg     sync.WaitGroup
}

func (j *im2colJob[T]) runPart(part int, _ *gemmScratch) {
	lo, hi := splitRange(j.c, j.parts, part, 1)
	if lo >= hi {
		return
	}
	rows := j.win.kh * j.win.kw
	ohw := j.g.oh * j.g.ow
	hw := j.g.h * j.g.w
	j.fn(j.dst[lo*rows*ohw:hi*rows*ohw], j.x[lo*hw:hi*hw], hi-lo, j.win, j.g, j.pad)
}

// run is fn over c channels, split over the workers when dst holds at
// least minWork elements.
func (j *im2colJob[T]) run(fn func(dst, x []T, c int, win *window, g geom, pad T), dst, x []T, c int, win *window, g geom, pad T, minWork int) {
	parts := min(pool.size(), c)
	if parts <= 1 || len(dst) < minWork {
		fn(dst, x, c, win, g, pad)
		return
	}
	j.fn, j.dst, j.x, j.win, j.g, j.pad, j.parts, j.c = fn, dst, x, win, g, pad, parts, c
	runParallel(j, parts, &j.wg)
	j.fn, j.dst, j.x, j.win = nil, nil, nil, nil
}

// im2colPar is im2col split over the workers.
func (s *Session) im2colPar(dst, x []float32, c int, win *window, g geom) {
	s.cols.run(im2colOf[float32], dst, x, c, win, g, 0, minParallel)
}

// im2col8Par is im2col8 (or its SIMD kernel) split over the workers.
func (s *Session) im2col8Par(dst, x []byte, c int, win *window, g geom, pad byte) {
	s.cols8.run(im2col8Fast, dst, x, c, win, g, pad, 4*minParallel)
}
