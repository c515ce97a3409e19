package cf

import "math"

// The ranking metrics below score one query: ranked is the method's list,
// best first; relevant is the set of held-out items. Only the first k ranked
// entries count. Averages over queries are the caller's job.

// HitRate is 1 if any of the first k ranked items is relevant, else 0.
func HitRate[T comparable](ranked []T, relevant map[T]bool, k int) float64 {
	for i, r := range ranked {
		if i >= k {
			break
		}
		if relevant[r] {
			return 1
		}
	}
	return 0
}

// Recall is |relevant ∩ first k ranked| / |relevant| (0 if nothing is
// relevant). Duplicates in ranked count once.
func Recall[T comparable](ranked []T, relevant map[T]bool, k int) float64 {
	if len(relevant) == 0 {
		return 0
	}
	return float64(hits(ranked, relevant, k)) / float64(len(relevant))
}

func hits[T comparable](ranked []T, relevant map[T]bool, k int) int {
	seen := map[T]bool{}
	n := 0
	for i, r := range ranked {
		if i >= k {
			break
		}
		if relevant[r] && !seen[r] {
			seen[r] = true
			n++
		}
	}
	return n
}

// NDCG is the binary-relevance normalised discounted cumulative gain:
// DCG = Σ 1/log2(rank+1) over relevant items among the first k (rank from
// 1), divided by the DCG of an ideal list of min(|relevant|, k) hits.
func NDCG[T comparable](ranked []T, relevant map[T]bool, k int) float64 {
	if len(relevant) == 0 || k <= 0 {
		return 0
	}
	seen := map[T]bool{}
	var dcg float64
	for i, r := range ranked {
		if i >= k {
			break
		}
		if relevant[r] && !seen[r] {
			seen[r] = true
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	var idcg float64
	for i := 0; i < min(len(relevant), k); i++ {
		idcg += 1 / math.Log2(float64(i+2))
	}
	return dcg / idcg
}
