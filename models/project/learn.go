//go:build !js

package project

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/lookalike/lookalike/models/engine"
)

// maxFitRows caps the rows used to estimate covariances: 10k rows of 2048-d
// features estimate a covariance as well as 40k for our purpose, at a
// quarter of the cost.
const maxFitRows = 10000

// LearnPCA learns the top-out principal directions of the rows of x (n rows
// of dim in, row-major) with a fixed seed for the row sample.
func LearnPCA(x []float32, in, out int, seed int64) (*Projection, error) {
	n, err := dims(x, in, out)
	if err != nil {
		return nil, err
	}
	mean := meanOf(x, n, in)
	rows := sampleRows(n, seed)
	cov := scatter(x, in, rows, func(int) []float64 { return mean })
	vecs, err := topEigen(cov, in, out)
	if err != nil {
		return nil, err
	}
	return &Projection{Kind: "pca", In: in, Out: out, Mean: f32(mean), W: vecs}, nil
}

// ldaMaxIn bounds the dimension LDA is solved in: wider features are first
// reduced by PCA (the classic PCA+LDA "Fisherfaces" recipe), which keeps
// the within-class scatter well conditioned and the solve fast.
const ldaMaxIn = 512

// LearnLDA learns a Fisher discriminant projection from class labels (one
// per row; empty labels are ignored): directions that separate the classes
// relative to the spread within them. out is capped at classes−1. shrink in
// [0,1) blends the within-class scatter towards a scaled identity, which
// keeps it well conditioned.
func LearnLDA(x []float32, in int, labels []string, out int, shrink float64, seed int64) (*Projection, error) {
	n, err := dims(x, in, out)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("project: %d labels for %d rows", len(labels), n)
	}
	if in <= ldaMaxIn {
		return learnLDA(x, in, labels, out, shrink, seed)
	}
	pca, err := LearnPCA(x, in, min(ldaMaxIn, n-1), seed)
	if err != nil {
		return nil, err
	}
	red := make([]float32, 0, n*pca.Out)
	for r := 0; r < n; r++ {
		red = append(red, pca.Apply(x[r*in:(r+1)*in], nil)...)
	}
	lda, err := learnLDA(red, pca.Out, labels, min(out, pca.Out), shrink, seed)
	if err != nil {
		return nil, err
	}
	// Compose: W = W_lda·W_pca; mean = μ_pca + W_pcaᵀ·μ_lda, so that
	// W(x − mean) = W_lda(W_pca(x − μ_pca) − μ_lda) (W_pca has orthonormal rows).
	w := make([]float32, lda.Out*in)
	engine.Gemm(lda.Out, in, pca.Out, lda.W, pca.Out, pca.W, in, w, in, false)
	mean := append([]float32(nil), pca.Mean...)
	for k := 0; k < pca.Out; k++ {
		mk := lda.Mean[k]
		row := pca.W[k*in : (k+1)*in]
		for j := range mean {
			mean[j] += row[j] * mk
		}
	}
	return &Projection{Kind: "lda", In: in, Out: lda.Out, Mean: mean, W: w}, nil
}

func learnLDA(x []float32, in int, labels []string, out int, shrink float64, seed int64) (*Projection, error) {
	n := len(x) / in
	classOf := map[string]int{}
	var names []string
	for _, l := range labels {
		if _, ok := classOf[l]; !ok && l != "" {
			classOf[l] = -1
			names = append(names, l)
		}
	}
	sort.Strings(names)
	for i, l := range names {
		classOf[l] = i
	}
	k := len(names)
	if k < 2 {
		return nil, errors.New("project: LDA needs at least two label values")
	}
	if out > k-1 {
		out = k - 1
	}
	means := make([][]float64, k)
	counts := make([]int, k)
	for c := range means {
		means[c] = make([]float64, in)
	}
	for r := 0; r < n; r++ {
		if labels[r] == "" {
			continue
		}
		c := classOf[labels[r]]
		counts[c]++
		row := x[r*in : (r+1)*in]
		for j, v := range row {
			means[c][j] += float64(v)
		}
	}
	total := make([]float64, in)
	labelled := 0
	for c := range means {
		for j := range means[c] {
			total[j] += means[c][j]
			means[c][j] /= float64(counts[c])
		}
		labelled += counts[c]
	}
	for j := range total {
		total[j] /= float64(labelled)
	}
	// Within-class scatter over a row sample.
	var rows []int
	for _, r := range sampleRows(n, seed) {
		if labels[r] != "" {
			rows = append(rows, r)
		}
	}
	sw := scatter(x, in, rows, func(r int) []float64 { return means[classOf[labels[r]]] })
	var tr float64
	for i := 0; i < in; i++ {
		tr += sw.At(i, i)
	}
	for i := 0; i < in; i++ {
		for j := i; j < in; j++ {
			v := (1 - shrink) * sw.At(i, j)
			if i == j {
				v += shrink * tr / float64(in)
			}
			sw.SetSym(i, j, v)
		}
	}
	// Between-class scatter, weighted by class size.
	sb := mat.NewSymDense(in, nil)
	d := make([]float64, in)
	for c := range means {
		for j := range d {
			d[j] = means[c][j] - total[j]
		}
		sb.SymRankOne(sb, float64(counts[c])/float64(labelled), mat.NewVecDense(in, d))
	}
	// Solve Sb v = λ Sw v via Sw = L Lᵀ: eig of L⁻¹ Sb L⁻ᵀ, v = L⁻ᵀ u.
	var ch mat.Cholesky
	if !ch.Factorize(sw) {
		return nil, errors.New("project: within-class scatter is not positive definite; raise shrink")
	}
	var l mat.TriDense
	ch.LTo(&l)
	var linv mat.TriDense
	if err := linv.InverseTri(&l); err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	var tmp, m mat.Dense
	tmp.Mul(&linv, sb)
	m.Mul(&tmp, linv.T())
	ms := mat.NewSymDense(in, nil)
	for i := 0; i < in; i++ {
		for j := i; j < in; j++ {
			ms.SetSym(i, j, 0.5*(m.At(i, j)+m.At(j, i)))
		}
	}
	u, err := topEigen(ms, in, out)
	if err != nil {
		return nil, err
	}
	// v = L⁻ᵀ u for each of the out rows of u.
	w := make([]float32, out*in)
	for o := 0; o < out; o++ {
		uv := make([]float64, in)
		for j := range uv {
			uv[j] = float64(u[o*in+j])
		}
		var v mat.VecDense
		v.MulVec(linv.T(), mat.NewVecDense(in, uv))
		var norm float64
		for j := 0; j < in; j++ {
			norm += v.AtVec(j) * v.AtVec(j)
		}
		norm = math.Sqrt(norm)
		for j := 0; j < in; j++ {
			w[o*in+j] = float32(v.AtVec(j) / norm)
		}
	}
	return &Projection{Kind: "lda", In: in, Out: out, Mean: f32(total), W: w}, nil
}

func dims(x []float32, in, out int) (int, error) {
	if in <= 0 || len(x)%in != 0 {
		return 0, fmt.Errorf("project: %d values are not rows of %d", len(x), in)
	}
	n := len(x) / in
	if out <= 0 || out > in {
		return 0, fmt.Errorf("project: output dim %d not in 1..%d", out, in)
	}
	if n < 2 {
		return 0, fmt.Errorf("project: need at least 2 rows, have %d", n)
	}
	return n, nil
}

func meanOf(x []float32, n, in int) []float64 {
	m := make([]float64, in)
	for r := 0; r < n; r++ {
		for j, v := range x[r*in : (r+1)*in] {
			m[j] += float64(v)
		}
	}
	for j := range m {
		m[j] /= float64(n)
	}
	return m
}

func sampleRows(n int, seed int64) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	if n > maxFitRows {
		rand.New(rand.NewSource(seed)).Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		rows = rows[:maxFitRows]
		sort.Ints(rows)
	}
	return rows
}

// scatter returns Σ (x_r − center(r))(x_r − center(r))ᵀ / len(rows),
// computed with the engine's SGEMM (float32 products, fine for choosing
// directions) and returned as float64.
func scatter(x []float32, in int, rows []int, center func(r int) []float64) *mat.SymDense {
	m := len(rows)
	xt := make([]float32, in*m) // centred rows, transposed: in × m
	for i, r := range rows {
		c := center(r)
		row := x[r*in : (r+1)*in]
		for j, v := range row {
			xt[j*m+i] = float32(float64(v) - c[j])
		}
	}
	x2 := make([]float32, m*in) // centred rows: m × in
	for j := 0; j < in; j++ {
		for i := 0; i < m; i++ {
			x2[i*in+j] = xt[j*m+i]
		}
	}
	c := make([]float32, in*in)
	engine.Gemm(in, in, m, xt, m, x2, in, c, in, false)
	s := mat.NewSymDense(in, nil)
	inv := 1 / float64(m)
	for i := 0; i < in; i++ {
		for j := i; j < in; j++ {
			s.SetSym(i, j, 0.5*(float64(c[i*in+j])+float64(c[j*in+i]))*inv)
		}
	}
	return s
}

// topEigen returns the eigenvectors of the out largest eigenvalues of the
// symmetric s as rows, with a deterministic sign (largest-magnitude
// component positive). Small problems use a full eigendecomposition; large
// ones block subspace iteration with SGEMM products and a Rayleigh–Ritz
// step, which takes seconds where LAPACK's full solver takes minutes at
// 2048 × 2048.
func topEigen(s *mat.SymDense, in, out int) ([]float32, error) {
	if in <= 512 {
		return fullEigen(s, in, out)
	}
	p := min(in, out+out/4+16) // oversampled block
	a := make([]float32, in*in)
	for i := 0; i < in; i++ {
		for j := 0; j < in; j++ {
			a[i*in+j] = float32(s.At(i, j))
		}
	}
	// Q: in × p, orthonormal columns; start from a fixed pseudo-random block.
	q := make([]float64, in*p)
	rng := rand.New(rand.NewSource(1))
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	orthonormalize(q, in, p)
	q32 := make([]float32, in*p)
	y32 := make([]float32, in*p)
	for iter := 0; iter < 8; iter++ {
		for i, v := range q {
			q32[i] = float32(v)
		}
		engine.Gemm(in, p, in, a, in, q32, p, y32, p, false)
		for i, v := range y32 {
			q[i] = float64(v)
		}
		orthonormalize(q, in, p)
	}
	// Rayleigh–Ritz: T = Qᵀ A Q (p × p), eigenvectors U, V = Q U.
	for i, v := range q {
		q32[i] = float32(v)
	}
	engine.Gemm(in, p, in, a, in, q32, p, y32, p, false)
	t := mat.NewSymDense(p, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			var sum float64
			for r := 0; r < in; r++ {
				sum += q[r*p+i] * float64(y32[r*p+j])
			}
			t.SetSym(i, j, sum)
		}
	}
	u, err := fullEigen(t, p, out)
	if err != nil {
		return nil, err
	}
	w := make([]float32, out*in)
	for o := 0; o < out; o++ {
		for r := 0; r < in; r++ {
			var sum float64
			for c := 0; c < p; c++ {
				sum += q[r*p+c] * float64(u[o*p+c])
			}
			w[o*in+r] = float32(sum)
		}
	}
	fixSigns(w, in, out)
	return w, nil
}

// orthonormalize makes the p columns of q (in × p, row-major)
// orthonormal by CholeskyQR2: G = QᵀQ (SGEMM), G = RᵀR, Q ← Q·R⁻¹, twice.
// All the O(in·p²) work is SGEMM; Gram–Schmidt in scalar Go took tens of
// seconds at 2048 × 656. Falls back to Gram–Schmidt if G is singular.
func orthonormalize(q []float64, in, p int) {
	q32 := make([]float32, in*p)
	qt := make([]float32, p*in)
	g := make([]float32, p*p)
	out := make([]float32, in*p)
	rinv32 := make([]float32, p*p)
	for pass := 0; pass < 2; pass++ {
		for r := 0; r < in; r++ {
			for c := 0; c < p; c++ {
				v := float32(q[r*p+c])
				q32[r*p+c] = v
				qt[c*in+r] = v
			}
		}
		engine.Gemm(p, p, in, qt, in, q32, p, g, p, false)
		gs := mat.NewSymDense(p, nil)
		for i := 0; i < p; i++ {
			for j := i; j < p; j++ {
				gs.SetSym(i, j, 0.5*(float64(g[i*p+j])+float64(g[j*p+i])))
			}
		}
		var ch mat.Cholesky
		if !ch.Factorize(gs) {
			gramSchmidt(q, in, p)
			return
		}
		var u, uinv mat.TriDense
		ch.UTo(&u)
		if err := uinv.InverseTri(&u); err != nil {
			gramSchmidt(q, in, p)
			return
		}
		for i := 0; i < p; i++ {
			for j := 0; j < p; j++ {
				rinv32[i*p+j] = float32(uinv.At(i, j))
			}
		}
		engine.Gemm(in, p, p, q32, p, rinv32, p, out, p, false)
		for i, v := range out {
			q[i] = float64(v)
		}
	}
}

// gramSchmidt is the slow, robust fallback of orthonormalize.
func gramSchmidt(q []float64, in, p int) {
	col := make([]float64, in)
	for pass := 0; pass < 2; pass++ {
		for c := 0; c < p; c++ {
			for r := 0; r < in; r++ {
				col[r] = q[r*p+c]
			}
			for prev := 0; prev < c; prev++ {
				var dot float64
				for r := 0; r < in; r++ {
					dot += col[r] * q[r*p+prev]
				}
				for r := 0; r < in; r++ {
					col[r] -= dot * q[r*p+prev]
				}
			}
			var n float64
			for _, v := range col {
				n += v * v
			}
			n = math.Sqrt(n)
			if n == 0 {
				n = 1
			}
			for r := 0; r < in; r++ {
				q[r*p+c] = col[r] / n
			}
		}
	}
}

// fullEigen is topEigen by LAPACK's symmetric eigensolver.
func fullEigen(s *mat.SymDense, in, out int) ([]float32, error) {
	var e mat.EigenSym
	if !e.Factorize(s, true) {
		return nil, errors.New("project: eigendecomposition did not converge")
	}
	vals := e.Values(nil)
	var vecs mat.Dense
	e.VectorsTo(&vecs)
	order := make([]int, in)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	w := make([]float32, out*in)
	for o := 0; o < out; o++ {
		for j := 0; j < in; j++ {
			w[o*in+j] = float32(vecs.At(j, order[o]))
		}
	}
	fixSigns(w, in, out)
	return w, nil
}

// fixSigns flips each row so its largest-magnitude component is positive.
func fixSigns(w []float32, in, out int) {
	for o := 0; o < out; o++ {
		row := w[o*in : (o+1)*in]
		var big float32
		for _, v := range row {
			if v > big || -v > big {
				if v < 0 {
					big = -v
				} else {
					big = v
				}
			}
		}
		flip := false
		for _, v := range row {
			if v == big || v == -big {
				flip = v < 0
				break
			}
		}
		if flip {
			for j := range row {
				row[j] = -row[j]
			}
		}
	}
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
