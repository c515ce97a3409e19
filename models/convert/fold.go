package convert

import "math"

// BatchNorm holds a Keras BatchNormalization's inference parameters, one
// value per channel. A nil Gamma means scale=False (1), a nil Beta
// center=False (0).
type BatchNorm struct {
	Gamma, Beta, Mean, Variance []float32
	Epsilon                     float64
}

// FoldConv turns a Keras conv kernel (HWIO: [kh][kw][cin][cout]) and bias
// (nil means zeros) into ONNX Conv weights (OIHW: [cout][cin][kh][kw]) and
// bias, folding bn (may be nil) in:
//
//	k  = gamma / sqrt(variance + epsilon)
//	w' = w * k                  (per output channel)
//	b' = (b - mean) * k + beta
//
// The arithmetic is done in float64 and rounded once to float32.
func FoldConv(kernel, bias []float32, kh, kw, cin, cout int, bn *BatchNorm) (w, b []float32) {
	scale := make([]float64, cout)
	shift := make([]float64, cout)
	for o := range cout {
		bo := 0.0
		if bias != nil {
			bo = float64(bias[o])
		}
		scale[o], shift[o] = 1, bo
		if bn != nil {
			g, beta := 1.0, 0.0
			if bn.Gamma != nil {
				g = float64(bn.Gamma[o])
			}
			if bn.Beta != nil {
				beta = float64(bn.Beta[o])
			}
			k := g / math.Sqrt(float64(bn.Variance[o])+bn.Epsilon)
			scale[o], shift[o] = k, (bo-float64(bn.Mean[o]))*k+beta
		}
	}
	w = make([]float32, len(kernel))
	for y := range kh {
		for x := range kw {
			for i := range cin {
				src := kernel[((y*kw+x)*cin+i)*cout:]
				for o := range cout {
					w[((o*cin+i)*kh+y)*kw+x] = float32(float64(src[o]) * scale[o])
				}
			}
		}
	}
	b = make([]float32, cout)
	for o := range cout {
		b[o] = float32(shift[o])
	}
	return w, b
}

// QuantizePerChannel quantises w, laid out with the output channel first
// ([channels][...]), to int8 per channel, symmetric (zero point 0):
//
//	scale[o] = max|w[o]| / 127   (1 for an all-zero channel)
//	q        = round(w / scale)  (half away from zero), clamped to [-127, 127]
//
// so |w - q*scale| <= scale/2 for every element.
func QuantizePerChannel(w []float32, channels int) (q []int8, scale []float32) {
	q = make([]int8, len(w))
	scale = make([]float32, channels)
	per := len(w) / channels
	for o := range channels {
		row := w[o*per : (o+1)*per]
		m := 0.0
		for _, v := range row {
			m = max(m, math.Abs(float64(v)))
		}
		s := float32(m / 127)
		if s == 0 {
			s = 1
		}
		scale[o] = s
		for i, v := range row {
			r := math.Round(float64(v) / float64(s))
			q[o*per+i] = int8(max(-127, min(127, r)))
		}
	}
	return q, scale
}

// Dequantize is the inverse of QuantizePerChannel, as DequantizeLinear
// computes it: w = q * scale[channel].
func Dequantize(q []int8, scale []float32) []float32 {
	w := make([]float32, len(q))
	per := len(q) / len(scale)
	for i, v := range q {
		w[i] = float32(v) * scale[i/per]
	}
	return w
}
