//go:build !amd64

package models

// haveAVX512 is false off amd64: the Go kernels run.
var haveAVX512 = false

func explainKeys8AVX512(b *shapBits, phiT []float64, keysT []uint64, sc *shapScratch8, margin *[8]float64) {
	panic("models: AVX-512 kernels need amd64")
}

func logitDots8(z, w []float64, b float64, s *[8]float64) {
	panic("models: AVX-512 kernels need amd64")
}

func logitGrad8(z []float64, r *[8]float64, g []float64) {
	panic("models: AVX-512 kernels need amd64")
}

func logitTerms8(s, y, loss, r *[8]float64) (rare uint8) {
	panic("models: AVX-512 kernels need amd64")
}

func sigmoid8(m, q *[8]float64) (rare uint8) {
	panic("models: AVX-512 kernels need amd64")
}

func survs8(q *paretoAlive, u, out *[8]float64) (rare uint8) {
	panic("models: AVX-512 kernels need amd64")
}

func binKeysAVX512(t *binTable, x []float64, at []int, out, rows []uint8, stride int) {
	panic("models: AVX-512 kernels need amd64")
}

func touchRows(x []float64, at []int, p int) {
	panic("models: AVX-512 kernels need amd64")
}
