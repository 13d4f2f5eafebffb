package models

import "golang.org/x/sys/cpu"

// haveAVX512 is whether the AVX-512 kernels (explainKeys8AVX512, logitDots8
// and logitGrad8) can run here: they need AVX-512 F, VL and DQ.
var haveAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ

// explainKeys8AVX512 is explainKeys8 on one block of eight rows held
// feature-major, in AVX-512 lanes (fastshap_amd64.s).
//
//go:noescape
func explainKeys8AVX512(b *shapBits, phiT []float64, keysT []uint64, sc *shapScratch8)

// logitDots8 sets s[r] = b + Σ_j w[j] z[r·p+j] (j ascending, p = len(w))
// for the eight rows of z (logit_amd64.s).
//
//go:noescape
func logitDots8(z, w []float64, b float64, s *[8]float64)

// logitGrad8 adds r[k] z[k·p+j] to g[j] for the eight rows k of z in turn,
// every j < p = len(g) (logit_amd64.s).
//
//go:noescape
func logitGrad8(z []float64, r *[8]float64, g []float64)
