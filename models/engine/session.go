package engine

import "fmt"

// Session runs a Model. It owns the activation arena and the scratch
// buffers, planned for one batch size and reused by every Run with that
// size: once warm, Run allocates only its result. A Session is not safe
// for concurrent use; make one per goroutine (Model.NewSession is cheap
// until the first Run).
type Session struct {
	m        *Model
	n        int // batch size the arena is planned for (0: none yet)
	shapes   [][]int
	bufs     [][]float32 // per value: its arena slot, constant data or the input
	slots    [][]float32
	scratch  []float32
	bscratch []byte             // int8 convolutions' quantised input and im2col
	vmax     []float32          // per value and image: the largest value an int8 conv wrote (quant.go)
	vmaxOK   []bool             // … set in this Run
	planes   planeJob           // parallel pooling
	cols     im2colJob[float32] // parallel im2col
	cols8    im2colJob[byte]    // parallel im2col of quantised bytes
}

// NewSession returns a Session for m. It allocates its arena on the first
// Run.
func (m *Model) NewSession() *Session { return &Session{m: m} }

// Run computes the named graph outputs (all of them when none are named)
// for a batch of n inputs laid out back to back, n×(input dims) float32
// (for ResNet50: n×3×224×224, NCHW). The results are fresh slices the
// caller owns. A new n re-plans the arena.
func (s *Session) Run(input []float32, n int, outputs ...string) (map[string][]float32, error) {
	m := s.m
	per, _ := numElems(m.inDims)
	if n <= 0 || n > 1<<20 {
		return nil, fmt.Errorf("engine: batch size %d", n)
	}
	if len(input) != n*per {
		return nil, fmt.Errorf("engine: input has %d values, want %d×%v = %d", len(input), n, m.inDims, n*per)
	}
	want := outputs
	if len(want) == 0 {
		want = m.outNames
	}
	ids := make([]int, len(want))
	for i, name := range want {
		ids[i] = -1
		for j, o := range m.outNames {
			if o == name {
				ids[i] = m.outputs[j]
			}
		}
		if ids[i] < 0 {
			return nil, fmt.Errorf("engine: %q is not an output of the model (outputs: %v)", name, m.outNames)
		}
	}
	if s.n != n {
		if err := s.plan(n); err != nil {
			return nil, err
		}
	}
	s.bufs[m.input] = input
	clear(s.vmaxOK)
	for _, st := range m.steps {
		st.run(s)
	}
	res := make(map[string][]float32, len(want))
	for i, name := range want {
		res[name] = append([]float32(nil), s.bufs[ids[i]]...)
	}
	s.bufs[m.input] = nil
	return res, nil
}

// plan infers the shapes for batch n and lays out the arena: each
// activation gets a slot from the moment it is produced until its last
// reader; slots are reused, and an output may take over the slot of an
// input that dies at the same step when the step allows it (the
// residual of a fused conv, the input of a Relu).
func (s *Session) plan(n int) error {
	m := s.m
	sh, err := m.inferShapes(n)
	if err != nil {
		return err
	}
	isOut := make([]bool, len(m.values))
	for _, o := range m.outputs {
		isOut[o] = true
	}
	last := make([]int, len(m.values))
	for i := range last {
		last[i] = -1
	}
	for i, st := range m.steps {
		for _, in := range st.ins() {
			last[in] = i
		}
	}
	for _, o := range m.outputs {
		last[o] = len(m.steps)
	}
	size := func(id int) int { v, _ := numElems(sh[id]); return v }

	var slotSize []int
	assign := make([]int, len(m.values)) // value -> slot, -1 if none
	for i := range assign {
		assign[i] = -1
	}
	var free []int
	scratch, bscratch := 0, 0
	for i, st := range m.steps {
		scratch = max(scratch, st.scratch(sh))
		if c, ok := st.(*convStep); ok {
			bscratch = max(bscratch, c.qScratch(sh))
		}
		ins := st.ins()
		taken := -1
		for oi, out := range st.outs() {
			need := size(out)
			if ip := st.inplace(); oi == 0 && ip >= 0 && ip < len(ins) {
				in := ins[ip]
				readTwice := false // e.g. a conv whose residual is its own input
				for j, other := range ins {
					readTwice = readTwice || (j != ip && other == in)
				}
				if last[in] == i && !isOut[in] && !readTwice && assign[in] >= 0 && slotSize[assign[in]] >= need {
					assign[out] = assign[in]
					taken = in
					continue
				}
			}
			// Best fit among free slots, else grow the largest, else new.
			best := -1
			for fi, sl := range free {
				if slotSize[sl] >= need && (best < 0 || slotSize[sl] < slotSize[free[best]]) {
					best = fi
				}
			}
			if best < 0 && len(free) > 0 {
				best = 0
				for fi, sl := range free {
					if slotSize[sl] > slotSize[free[best]] {
						best = fi
					}
				}
				slotSize[free[best]] = need
			}
			if best >= 0 {
				assign[out] = free[best]
				free = append(free[:best], free[best+1:]...)
			} else {
				assign[out] = len(slotSize)
				slotSize = append(slotSize, need)
			}
		}
		// Inputs that die here are freed after the outputs are placed: a
		// step never writes a buffer it reads unless inplace says so.
		for j, in := range ins {
			dup := false
			for _, prev := range ins[:j] {
				dup = dup || prev == in
			}
			if last[in] == i && assign[in] >= 0 && in != taken && !dup {
				free = append(free, assign[in])
			}
		}
		for _, out := range st.outs() {
			if last[out] < 0 { // nobody reads it
				free = append(free, assign[out])
			}
		}
	}

	s.n = 0 // invalid until done
	s.shapes = sh
	s.bufs = make([][]float32, len(m.values))
	s.slots = make([][]float32, len(slotSize))
	for i, sz := range slotSize {
		s.slots[i] = make([]float32, sz)
	}
	for id, v := range m.values {
		switch {
		case v.konst:
			s.bufs[id] = v.f32
		case assign[id] >= 0:
			s.bufs[id] = s.slots[assign[id]][:size(id)]
		}
	}
	s.scratch = make([]float32, scratch)
	s.bscratch = make([]byte, bscratch)
	s.vmax = make([]float32, len(m.values)*n)
	s.vmaxOK = make([]bool, len(m.values)*n)
	s.n = n
	return nil
}
