package models

import (
	"runtime"
	"sync"
)

// chunkedSum evaluates f over n items in fixed chunks of chunk items, on up
// to GOMAXPROCS goroutines, and adds the chunks' values (and gradients of
// length k, when grad is not nil) in chunk order. The chunking does not
// depend on the number of cores, so the result is bit-for-bit reproducible.
func chunkedSum(n, chunk, k int, grad []float64, f func(lo, hi int, grad []float64) float64) float64 {
	nc := (n + chunk - 1) / chunk
	vals := make([]float64, nc)
	var grads [][]float64
	if grad != nil {
		grads = make([][]float64, nc)
		for i := range grads {
			grads[i] = make([]float64, k)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), nc)
	var wg sync.WaitGroup
	next := make(chan int, nc)
	for c := range nc {
		next <- c
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				var g []float64
				if grads != nil {
					g = grads[c]
				}
				vals[c] = f(c*chunk, min((c+1)*chunk, n), g)
			}
		}()
	}
	wg.Wait()
	total := 0.0
	for c := range nc {
		total += vals[c]
		if grad != nil {
			for j := range k {
				grad[j] += grads[c][j]
			}
		}
	}
	return total
}

// parallelEach runs body(i) for i in [0, n) with one item per task, for
// few, coarse items (features of a histogram); serial when serial is set.
func parallelEach(n int, serial bool, body func(i int)) {
	if serial || n < 2 {
		for i := range n {
			body(i)
		}
		return
	}
	chunkedSum(n, 1, 0, nil, func(lo, _ int, _ []float64) float64 {
		body(lo)
		return 0
	})
}
