// Package vec holds the float32 vector arithmetic shared by the search
// (models/annoy), the vector files (models/vecfile) and the builder.
package vec

// Dot returns the dot product of a and b (len(b) >= len(a)), with four
// independent accumulators (faster than one, and the same sum on every
// platform).
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
