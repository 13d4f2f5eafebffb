package models

import "golang.org/x/sys/cpu"

// haveAVX512 is whether the AVX-512 kernels (binKeysAVX512,
// explainKeys8AVX512, logitDots8, logitGrad8, logitTerms8, sigmoid8,
// survs8) can run here: they need AVX-512 F, VL and DQ, and logitTerms8, sigmoid8 and survs8 follow
// math.Exp's path for processors with AVX2 and FMA (every one with AVX-512
// has them).
var haveAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX2 && cpu.X86.HasFMA

// explainKeys8AVX512 is explainKeys8 on one block of eight rows held
// feature-major, in AVX-512 vectors, for a tree with vec set; it also adds
// the value of the leaf each row reaches to margin (fastshap_amd64.s).
//
//go:noescape
func explainKeys8AVX512(b *shapBits, phiT []float64, keysT []uint64, sc *shapScratch8, margin *[8]float64)

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

// logitTerms8 is logitTerm for eight rows (logit_amd64.s): lanes set in
// rare are for the caller to redo with logitTerm.
//
//go:noescape
func logitTerms8(s, y, loss, r *[8]float64) (rare uint8)

// survs8 sets out[k] = q.surv(u[k]) for eight values, to the bit
// (logit_amd64.s): lanes set in rare are for the caller to redo.
//
//go:noescape
func survs8(q *paretoAlive, u, out *[8]float64) (rare uint8)

// sigmoid8 sets q[k] = 1/(1 + math.Exp(−m[k])) for eight values, to the
// bit (logit_amd64.s): lanes set in rare are for the caller to redo.
//
//go:noescape
func sigmoid8(m, q *[8]float64) (rare uint8)

// binKeysAVX512 sets out[i] and, unless rows is empty, rows[i·stride] to
// the bin of x[at[i]] in t, for i < len(at): binRows' bins (bins_amd64.s).
//
//go:noescape
func binKeysAVX512(t *binTable, x []float64, at []int, out, rows []uint8, stride int)

// touchRows loads every cache line of the rows x[at[i]:at[i]+p], p ≥ 1
// (bins_amd64.s).
//
//go:noescape
func touchRows(x []float64, at []int, p int)
