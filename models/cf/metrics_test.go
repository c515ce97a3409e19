package cf

import (
	"math"
	"testing"
)

func TestMetrics(t *testing.T) {
	l2 := func(x float64) float64 { return 1 / math.Log2(x) }
	rel := map[string]bool{"b": true, "d": true, "x": true}
	tests := []struct {
		name              string
		ranked            []string
		relevant          map[string]bool
		k                 int
		hit, recall, ndcg float64
	}{
		{"one hit at rank 2 of 3", []string{"a", "b", "c", "d"}, rel, 3, 1, 1.0 / 3, l2(3) / (1 + l2(3) + l2(4))},
		{"two hits at 2 and 4", []string{"a", "b", "c", "d"}, rel, 4, 1, 2.0 / 3, (l2(3) + l2(5)) / (1 + l2(3) + l2(4))},
		{"hit at rank 1, k below |relevant|", []string{"d", "a"}, rel, 1, 1, 1.0 / 3, 1},
		{"no hit", []string{"a", "c"}, rel, 10, 0, 0, 0},
		{"hit beyond k", []string{"a", "c", "b"}, rel, 2, 0, 0, 0},
		{"duplicates count once", []string{"b", "b"}, rel, 2, 1, 1.0 / 3, 1 / (1 + l2(3))},
		{"single relevant (leave-one-out)", []string{"a", "c", "x"}, map[string]bool{"x": true}, 10, 1, 1, 0.5},
		{"nothing relevant", []string{"a"}, map[string]bool{}, 10, 0, 0, 0},
		{"empty list", nil, rel, 10, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := HitRate(tc.ranked, tc.relevant, tc.k); got != tc.hit {
				t.Errorf("HitRate = %g, want %g", got, tc.hit)
			}
			if got := Recall(tc.ranked, tc.relevant, tc.k); math.Abs(got-tc.recall) > 1e-12 {
				t.Errorf("Recall = %g, want %g", got, tc.recall)
			}
			if got := NDCG(tc.ranked, tc.relevant, tc.k); math.Abs(got-tc.ndcg) > 1e-12 {
				t.Errorf("NDCG = %g, want %g", got, tc.ndcg)
			}
		})
	}
}
