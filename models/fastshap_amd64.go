package models

import "golang.org/x/sys/cpu"

// shapAVX512 is whether explainKeys8AVX512 can run here.
var shapAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ

// explainKeys8AVX512 is explainKeys8 on one block of eight rows held
// feature-major, in AVX-512 lanes (fastshap_amd64.s).
//
//go:noescape
func explainKeys8AVX512(b *shapBits, phiT []float64, keysT []uint64, sc *shapScratch8)
