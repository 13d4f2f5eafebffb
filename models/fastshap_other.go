//go:build !amd64

package models

// shapAVX512 is false off amd64: explainKeys8 explains every block.
var shapAVX512 = false

func explainKeys8AVX512(b *shapBits, phiT []float64, keysT []uint64, sc *shapScratch8) {
	panic("models: explainKeys8AVX512 needs amd64")
}
