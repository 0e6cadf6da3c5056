package slurm

import "sort"

func sortKeys[K any](keys []K, str func(K) string) {
	sort.Slice(keys, func(i, j int) bool { return str(keys[i]) < str(keys[j]) })
}
