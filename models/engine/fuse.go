package engine

// fuse rewrites the step list: a Conv absorbs a following
// BatchNormalization (folded into its weights), then a residual Add, then
// a Relu, whenever the intermediate value has that single reader and is
// not a graph output. The fused step takes the place of the last step it
// absorbed, where all of its inputs are known to be computed.
func (l *loader) fuse() error {
	m := l.m
	sh, err := m.inferShapes(1)
	if err != nil {
		return err
	}
	isOut := map[int]bool{}
	for _, o := range m.outputs {
		isOut[o] = true
	}
	steps := m.steps
	readers := func(id int) (count, at int) {
		at = -1
		for i, st := range steps {
			if st == nil {
				continue
			}
			for _, in := range st.ins() {
				if in == id {
					count++
					at = i
				}
			}
		}
		return count, at
	}
	for i := 0; i < len(steps); i++ {
		c, ok := steps[i].(*convStep)
		if !ok {
			continue
		}
		pos := i
		for {
			out := c.outIDs[0]
			if isOut[out] {
				break
			}
			count, j := readers(out)
			if count != 1 {
				break
			}
			next := steps[j]
			absorbed := false
			switch s := next.(type) {
			case *bnStep:
				if c.res >= 0 || c.relu || len(s.scale) != c.cout {
					break
				}
				k := c.kdim()
				w := c.w
				if l.weightShared(c, steps) {
					w = make([]float32, len(c.w))
				}
				// Folding in place when the weights are this conv's own keeps
				// the load's peak memory at one copy of the model.
				for o := 0; o < c.cout; o++ {
					for p := 0; p < k; p++ {
						w[o*k+p] = c.w[o*k+p] * s.scale[o]
					}
					c.bias[o] = c.bias[o]*s.scale[o] + s.shift[o]
				}
				c.w = w
				absorbed = true
			case *addStep:
				if c.res >= 0 || c.relu {
					break
				}
				other := s.inIDs[0]
				if other == out {
					other = s.inIDs[1]
				}
				if m.values[other].konst || !equalInts(sh[other], sh[out]) || !equalInts(sh[s.outIDs[0]], sh[out]) {
					break
				}
				c.res = other
				c.relu = s.relu
				absorbed = true
			case *reluStep:
				if c.relu {
					break
				}
				c.relu = true
				absorbed = true
			}
			if !absorbed {
				break
			}
			c.outIDs = []int{next.outs()[0]}
			steps[pos] = nil
			steps[j] = c
			pos = j
		}
	}
	// Also fold a Relu into a preceding Add.
	for i, st := range steps {
		a, ok := st.(*addStep)
		if !ok || a.relu || isOut[a.outIDs[0]] {
			continue
		}
		count, j := readers(a.outIDs[0])
		if r, ok := steps[max(j, 0)].(*reluStep); ok && count == 1 {
			a.relu = true
			a.outIDs = []int{r.outIDs[0]}
			steps[i] = nil
			steps[j] = a
		}
	}
	m.steps = m.steps[:0]
	for _, st := range steps {
		if st != nil {
			m.steps = append(m.steps, st)
		}
	}
	return nil
}

// weightShared reports whether c's weights are also read elsewhere: by
// another conv or as a step's constant input.
func (l *loader) weightShared(c *convStep, steps []step) bool {
	if len(c.w) == 0 {
		return false
	}
	p := &c.w[0]
	for _, st := range steps {
		if st == nil {
			continue
		}
		if o, ok := st.(*convStep); ok && o != c && len(o.w) > 0 && &o.w[0] == p {
			return true
		}
		for _, in := range st.ins() {
			if f := l.m.values[in].f32; len(f) > 0 && &f[0] == p {
				return true
			}
		}
	}
	return false
}
