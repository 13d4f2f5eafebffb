#include "textflag.h"
#include "go_asm.h"
#include "transpose_amd64.h"

// Eight rows of the logit's standardised matrix (z: 8×p, row-major) at a
// time, every row in a vector lane: each lane's products and sums are the
// ones logitRowLossGrad computes, in the same order, so the results are
// the same to the bit. Needs AVX-512 F, VL and DQ (haveAVX512).

// STEP adds w[j] × column to the eight sums in Z16 (a product, rounded,
// then a sum, rounded: no fused multiply-add, as Go on amd64).
#define STEP(off, col) \
	VBROADCASTSD off(DI), Z17; \
	VMULPD col, Z17, Z17; \
	VADDPD Z17, Z16, Z16

// func logitDots8(z, w []float64, b float64, s *[8]float64)
//
// s[r] = b + Σ_j w[j] z[r·p+j], j ascending, p = len(w).
TEXT ·logitDots8(SB), NOSPLIT, $0-64
	MOVQ z_base+0(FP), SI
	MOVQ w_base+24(FP), DI
	MOVQ w_len+32(FP), R12
	VBROADCASTSD b+48(FP), Z16
	MOVQ R12, DX
	SHLQ $3, DX            // a row's bytes
	LEAQ (DX)(DX*2), R8    // 3 rows
	LEAQ (DX)(DX*4), R9    // 5 rows
	LEAQ (R8)(R8*1), R10   // 6 rows
	LEAQ (R9)(DX*2), R11   // 7 rows
	CMPQ R12, $8
	JLT dotpart

dottile:
	VMOVUPD (SI), Z0
	VMOVUPD (SI)(DX*1), Z1
	VMOVUPD (SI)(DX*2), Z2
	VMOVUPD (SI)(R8*1), Z3
	VMOVUPD (SI)(DX*4), Z4
	VMOVUPD (SI)(R9*1), Z5
	VMOVUPD (SI)(R10*1), Z6
	VMOVUPD (SI)(R11*1), Z7
	TRANSPOSE
	STEP(0, Z8)
	STEP(8, Z9)
	STEP(16, Z10)
	STEP(24, Z11)
	STEP(32, Z12)
	STEP(40, Z13)
	STEP(48, Z14)
	STEP(56, Z15)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $8, R12
	CMPQ R12, $8
	JGE dottile

dotpart:
	// The last 1–7 columns: masked loads (nothing read past them), and
	// only their steps.
	TESTQ R12, R12
	JZ dotdone
	MOVQ $1, AX
	MOVQ R12, CX
	SHLQ CX, AX
	DECQ AX
	KMOVB AX, K1
	VMOVUPD.Z (SI), K1, Z0
	VMOVUPD.Z (SI)(DX*1), K1, Z1
	VMOVUPD.Z (SI)(DX*2), K1, Z2
	VMOVUPD.Z (SI)(R8*1), K1, Z3
	VMOVUPD.Z (SI)(DX*4), K1, Z4
	VMOVUPD.Z (SI)(R9*1), K1, Z5
	VMOVUPD.Z (SI)(R10*1), K1, Z6
	VMOVUPD.Z (SI)(R11*1), K1, Z7
	TRANSPOSE
	STEP(0, Z8)
	CMPQ R12, $1
	JEQ dotdone
	STEP(8, Z9)
	CMPQ R12, $2
	JEQ dotdone
	STEP(16, Z10)
	CMPQ R12, $3
	JEQ dotdone
	STEP(24, Z11)
	CMPQ R12, $4
	JEQ dotdone
	STEP(32, Z12)
	CMPQ R12, $5
	JEQ dotdone
	STEP(40, Z13)
	CMPQ R12, $6
	JEQ dotdone
	STEP(48, Z14)

dotdone:
	MOVQ s+56(FP), AX
	VMOVUPD Z16, (AX)
	VZEROUPPER
	RET

// GSTEP adds r[k] × row k's eight values to the gradient's in Z0.
#define GSTEP(rk, addr) \
	VMULPD addr, rk, Z1; \
	VADDPD Z1, Z0, Z0

#define GSTEPM(rk, addr) \
	VMOVUPD.Z addr, K1, Z2; \
	VMULPD Z2, rk, Z1; \
	VADDPD Z1, Z0, Z0

// func logitGrad8(z []float64, r *[8]float64, g []float64)
//
// g[j] += r[k] z[k·p+j] for k = 0…7 in turn, every j < p = len(g).
TEXT ·logitGrad8(SB), NOSPLIT, $0-56
	MOVQ z_base+0(FP), SI
	MOVQ r+24(FP), AX
	MOVQ g_base+32(FP), DI
	MOVQ g_len+40(FP), R12
	VBROADCASTSD 0(AX), Z16
	VBROADCASTSD 8(AX), Z17
	VBROADCASTSD 16(AX), Z18
	VBROADCASTSD 24(AX), Z19
	VBROADCASTSD 32(AX), Z20
	VBROADCASTSD 40(AX), Z21
	VBROADCASTSD 48(AX), Z22
	VBROADCASTSD 56(AX), Z23
	MOVQ R12, DX
	SHLQ $3, DX
	LEAQ (DX)(DX*2), R8
	LEAQ (DX)(DX*4), R9
	LEAQ (R8)(R8*1), R10
	LEAQ (R9)(DX*2), R11
	CMPQ R12, $8
	JLT gradpart

gradtile:
	VMOVUPD (DI), Z0
	GSTEP(Z16, (SI))
	GSTEP(Z17, (SI)(DX*1))
	GSTEP(Z18, (SI)(DX*2))
	GSTEP(Z19, (SI)(R8*1))
	GSTEP(Z20, (SI)(DX*4))
	GSTEP(Z21, (SI)(R9*1))
	GSTEP(Z22, (SI)(R10*1))
	GSTEP(Z23, (SI)(R11*1))
	VMOVUPD Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $8, R12
	CMPQ R12, $8
	JGE gradtile

gradpart:
	TESTQ R12, R12
	JZ graddone
	MOVQ $1, AX
	MOVQ R12, CX
	SHLQ CX, AX
	DECQ AX
	KMOVB AX, K1
	VMOVUPD.Z (DI), K1, Z0
	GSTEPM(Z16, (SI))
	GSTEPM(Z17, (SI)(DX*1))
	GSTEPM(Z18, (SI)(DX*2))
	GSTEPM(Z19, (SI)(R8*1))
	GSTEPM(Z20, (SI)(DX*4))
	GSTEPM(Z21, (SI)(R9*1))
	GSTEPM(Z22, (SI)(R10*1))
	GSTEPM(Z23, (SI)(R11*1))
	VMOVUPD Z0, K1, (DI)

graddone:
	VZEROUPPER
	RET

// Constants of logitTerms8, sigmoid8 and survs8: math.Exp's (exp_amd64.s,
// the FMA path), math.Log1p's (log1p.go) and math.Log's (log_amd64.s, whose
// polynomial and ln 2 halves are Log1p's), the same decimal literals.
DATA logitk<>+0(SB)/8, $0x7FFFFFFFFFFFFFFF // |x| mask
DATA logitk<>+8(SB)/8, $0x8000000000000000 // sign bit
DATA logitk<>+16(SB)/8, $1.4426950408889634073599246810018920 // LOG2E
DATA logitk<>+24(SB)/8, $0.69314718055966295651160180568695068359375 // LN2U
DATA logitk<>+32(SB)/8, $0.28235290563031577122588448175013436025525412068e-12 // LN2L
DATA logitk<>+40(SB)/8, $0.0625
DATA logitk<>+48(SB)/8, $2.4801587301587301587e-5
DATA logitk<>+56(SB)/8, $1.9841269841269841270e-4
DATA logitk<>+64(SB)/8, $1.3888888888888888889e-3
DATA logitk<>+72(SB)/8, $8.3333333333333333333e-3
DATA logitk<>+80(SB)/8, $4.1666666666666666667e-2
DATA logitk<>+88(SB)/8, $1.6666666666666666667e-1
DATA logitk<>+96(SB)/8, $0.5
DATA logitk<>+104(SB)/8, $1.0
DATA logitk<>+112(SB)/8, $2.0
DATA logitk<>+120(SB)/8, $0x7FF0000000000000 // +Inf
DATA logitk<>+128(SB)/8, $4.142135623730950488017e-01 // Sqrt2M1
DATA logitk<>+136(SB)/8, $0x3e20000000000000 // Small, 2⁻²⁹
DATA logitk<>+144(SB)/8, $0x3c90000000000000 // Tiny, 2⁻⁵⁴
DATA logitk<>+152(SB)/8, $6.93147180369123816490e-01 // Ln2Hi
DATA logitk<>+160(SB)/8, $1.90821492927058770002e-10 // Ln2Lo
DATA logitk<>+168(SB)/8, $6.666666666666735130e-01 // Lp1
DATA logitk<>+176(SB)/8, $3.999999999940941908e-01 // Lp2
DATA logitk<>+184(SB)/8, $2.857142874366239149e-01 // Lp3
DATA logitk<>+192(SB)/8, $2.222219843214978396e-01 // Lp4
DATA logitk<>+200(SB)/8, $1.818357216161805012e-01 // Lp5
DATA logitk<>+208(SB)/8, $1.531383769920937332e-01 // Lp6
DATA logitk<>+216(SB)/8, $1.479819860511658591e-01 // Lp7
DATA logitk<>+224(SB)/8, $0x000fffffffffffff // mantissa
DATA logitk<>+232(SB)/8, $0x0006a09e667f3bcd // mantissa of √2
DATA logitk<>+240(SB)/8, $0x3ff0000000000000
DATA logitk<>+248(SB)/8, $0x3fe0000000000000
DATA logitk<>+256(SB)/8, $0x0010000000000000
DATA logitk<>+264(SB)/4, $1023
DATA logitk<>+268(SB)/4, $1024
DATA logitk<>+272(SB)/8, $7.09782712893384e+02 // exp's overflow bound (exp_amd64.s)
DATA logitk<>+280(SB)/8, $7.07106781186547524401e-01 // HSqrt2 (log_amd64.s)
DATA logitk<>+288(SB)/8, $0x7FF
DATA logitk<>+296(SB)/8, $0x3FE
DATA logitk<>+304(SB)/8, $0x0010000000000000 // the least normal float64
GLOBL logitk<>(SB), RODATA|NOPTR, $312

#define K(off) logitk<>+off(SB)

// EXP sets Z6 = exp(Z2) lane by lane, taking the steps of math.Exp's FMA
// path (exp_amd64.s, which Go takes on every processor with AVX-512) in
// their order: n = round(x·LOG2E), the reduced argument, the Taylor
// polynomial and its four squarings, fr·2ⁿ. Y4 is left n (int32 lanes)
// and K2 the lanes where n + 1023 > 0; a lane out of the normal range (n +
// 1023 ≤ 0 or ≥ 2047, x not finite or above the overflow bound) is the
// caller's to redo. Uses Z3–Z10 and Z30 (which must hold 1).
#define EXP \
	VMULPD.BCST K(16), Z2, Z3; \
	VCVTPD2DQ Z3, Y4; \
	VCVTDQ2PD Y4, Z5; \
	VMOVAPD Z2, Z6; \
	VBROADCASTSD K(24), Z7; \
	VFNMADD231PD Z7, Z5, Z6; \
	VBROADCASTSD K(32), Z7; \
	VFNMADD231PD Z7, Z5, Z6; \
	VMULPD.BCST K(40), Z6, Z6; \
	VBROADCASTSD K(48), Z7; \
	VBROADCASTSD K(56), Z8; \
	VFMADD213PD Z8, Z6, Z7; \
	VBROADCASTSD K(64), Z8; \
	VFMADD213PD Z8, Z6, Z7; \
	VBROADCASTSD K(72), Z8; \
	VFMADD213PD Z8, Z6, Z7; \
	VBROADCASTSD K(80), Z8; \
	VFMADD213PD Z8, Z6, Z7; \
	VBROADCASTSD K(88), Z8; \
	VFMADD213PD Z8, Z6, Z7; \
	VBROADCASTSD K(96), Z8; \
	VFMADD213PD Z8, Z6, Z7; \
	VFMADD213PD Z30, Z6, Z7; \
	VMULPD Z7, Z6, Z6; \
	VBROADCASTSD K(112), Z8; \
	VADDPD Z8, Z6, Z7; \
	VMULPD Z7, Z6, Z6; \
	VADDPD Z8, Z6, Z7; \
	VMULPD Z7, Z6, Z6; \
	VADDPD Z8, Z6, Z7; \
	VMULPD Z7, Z6, Z6; \
	VADDPD Z8, Z6, Z7; \
	VFMADD213PD Z30, Z7, Z6; \
	VPBROADCASTD K(264), Y9; \
	VPADDD Y9, Y4, Y9; \
	VPXORD Y10, Y10, Y10; \
	VPCMPD $6, Y10, Y9, K2; \
	VPMOVSXDQ Y9, Z9; \
	VPSLLQ $52, Z9, Z9; \
	VMULPD Z9, Z6, Z6

// func logitTerms8(s, y, loss, r *[8]float64) (rare uint8)
//
// logitTerm for eight rows: loss[k] = max(s,0) + log1p(e) − y s and
// r[k] = σ(s) − y, e = exp(−|s|), every lane taking the steps of
// math.Exp (its FMA path, which Go takes on every processor with AVX-512)
// and math.Log1p in their order. Lanes the vector steps do not cover
// (s not finite, e subnormal, e within 2⁻⁵² of 1) come back set in rare
// for the caller to redo with logitTerm.
TEXT ·logitTerms8(SB), NOSPLIT, $0-33
	MOVQ s+0(FP), AX
	MOVQ y+8(FP), BX
	VMOVUPD (AX), Z0                     // s
	VPXORQ Z31, Z31, Z31                 // 0
	VBROADCASTSD K(104), Z30             // 1
	VANDPD.BCST K(0), Z0, Z1             // |s|
	VXORPD.BCST K(8), Z1, Z2             // x = −|s|
	VCMPPD.BCST $1, K(120), Z1, K1       // finite: |s| < +Inf

	// e = exp(x): math.Exp's FMA path.
	EXP

	// σ(s) − y: q = 1/(1+e), e·q when s < 0.
	VADDPD Z30, Z6, Z10
	VDIVPD Z10, Z30, Z11
	VCMPPD $1, Z31, Z0, K3               // s < 0
	VMULPD Z11, Z6, K3, Z11
	VSUBPD (BX), Z11, Z11
	MOVQ r+24(FP), AX
	VMOVUPD Z11, (AX)

	// log1p(e), 0 < e ≤ 1: f = e below √2−1, else from u = 1+e.
	VADDPD Z30, Z6, Z14                  // u
	VSUBPD Z30, Z14, Z15                 // u − 1
	VSUBPD Z15, Z6, Z15                  // c = e − (u − 1)
	VDIVPD Z14, Z15, Z15                 // c / u
	VPANDQ.BCST K(224), Z14, Z16         // mantissa of u
	VPCMPUQ.BCST $1, K(232), Z16, K4     // below √2's: u stays, k = 0
	VPORQ.BCST K(240), Z16, Z17          // u normalised
	VPORQ.BCST K(248), Z16, Z18          // u/2 normalised (k = 1)
	VBLENDMPD Z17, Z18, K4, Z17
	VPBROADCASTQ K(256), Z19
	VPSUBQ Z16, Z19, Z19
	VPSRLQ $2, Z19, Z19                  // iu for k = 1
	VPBLENDMQ Z16, Z19, K4, Z19          // iu
	VPTESTMQ Z19, Z19, K5                // iu ≠ 0
	VSUBPD Z30, Z17, Z17                 // f from u
	VCMPPD.BCST $1, K(128), Z6, K6       // e < √2−1: f = e, k = 0
	VBLENDMPD Z6, Z17, K6, Z17           // f
	KORB K6, K4, K4                      // the k = 0 formula
	KORB K6, K5, K5                      // covered: iu ≠ 0 (1 below √2−1)
	VMULPD.BCST K(96), Z17, Z20
	VMULPD Z17, Z20, Z20                 // hfsq = 0.5·f·f
	VADDPD Z8, Z17, Z21
	VDIVPD Z21, Z17, Z21                 // s = f/(2+f)
	VMULPD Z21, Z21, Z22                 // z = s·s
	VMULPD.BCST K(216), Z22, Z23         // R = z·(Lp1 + z·(… + z·Lp7))
	VADDPD.BCST K(208), Z23, Z23
	VMULPD Z22, Z23, Z23
	VADDPD.BCST K(200), Z23, Z23
	VMULPD Z22, Z23, Z23
	VADDPD.BCST K(192), Z23, Z23
	VMULPD Z22, Z23, Z23
	VADDPD.BCST K(184), Z23, Z23
	VMULPD Z22, Z23, Z23
	VADDPD.BCST K(176), Z23, Z23
	VMULPD Z22, Z23, Z23
	VADDPD.BCST K(168), Z23, Z23
	VMULPD Z22, Z23, Z23
	VADDPD Z23, Z20, Z24                 // hfsq + R
	VMULPD Z24, Z21, Z24                 // s·(hfsq + R)
	VSUBPD Z24, Z20, Z25                 // k = 0: f − (hfsq − s·(hfsq+R))
	VSUBPD Z25, Z17, Z25
	VADDPD.BCST K(160), Z15, Z26         // k = 1: Ln2Hi − ((hfsq − (s·(hfsq+R) + (Ln2Lo + c))) − f)
	VADDPD Z26, Z24, Z26
	VSUBPD Z26, Z20, Z26
	VSUBPD Z17, Z26, Z26
	VBROADCASTSD K(152), Z27
	VSUBPD Z26, Z27, Z26
	VBLENDMPD Z25, Z26, K4, Z25
	VMULPD Z6, Z6, Z27                   // e below 2⁻²⁹: e − e·e·0.5
	VMULPD.BCST K(96), Z27, Z27
	VSUBPD Z27, Z6, Z27
	VCMPPD.BCST $1, K(136), Z6, K6
	VBLENDMPD Z27, Z25, K6, Z25
	VCMPPD.BCST $1, K(144), Z6, K6       // below 2⁻⁵⁴: e
	VBLENDMPD Z6, Z25, K6, Z25

	// loss = max(s, 0) + log1p(e) − y·s
	VMAXPD Z31, Z0, Z28
	VADDPD Z25, Z28, Z28
	VMULPD (BX), Z0, Z29
	VSUBPD Z29, Z28, Z28
	MOVQ loss+16(FP), AX
	VMOVUPD Z28, (AX)

	KANDB K2, K1, K1
	KANDB K5, K1, K1
	KNOTB K1, K1
	KMOVB K1, AX
	MOVB AX, rare+32(FP)
	VZEROUPPER
	RET

// func sigmoid8(m, q *[8]float64) (rare uint8)
//
// q[k] = 1/(1 + exp(−m[k])) as Go computes it: the negation, math.Exp's
// FMA path (EXP), then 1 + e and 1 over it, each rounded. Lanes EXP does
// not cover (−m not finite or above exp's overflow bound, n + 1023 ≤ 0
// or ≥ 2047: a subnormal, zero or infinite e) come back set in rare for
// the caller to redo with math.Exp.
TEXT ·sigmoid8(SB), NOSPLIT, $0-17
	MOVQ m+0(FP), AX
	VMOVUPD (AX), Z0
	VBROADCASTSD K(104), Z30             // 1
	VXORPD.BCST K(8), Z0, Z2             // x = −m
	VANDPD.BCST K(0), Z2, Z1             // |x|
	VCMPPD.BCST $1, K(120), Z1, K1       // finite: |x| < +Inf
	VCMPPD.BCST $2, K(272), Z2, K3       // x ≤ the overflow bound
	KANDB K3, K1, K1
	EXP
	KANDB K2, K1, K1                     // n + 1023 > 0
	VPBROADCASTD K(268), Y11
	VPCMPD $1, Y11, Y4, K3               // n < 1024: n + 1023 < 2047
	KANDB K3, K1, K1
	VADDPD Z30, Z6, Z10                  // 1 + e
	VDIVPD Z10, Z30, Z11                 // 1/(1 + e)
	MOVQ q+8(FP), AX
	VMOVUPD Z11, (AX)
	KNOTB K1, K1
	KMOVB K1, AX
	MOVB AX, rare+16(FP)
	VZEROUPPER
	RET

// LOG sets out = log(in) lane by lane for normal positive in, taking the
// steps of math.Log (log_amd64.s) in their order: f1 and k from the bits,
// f1 doubled and k less one when f1 is not above √2/2, then the
// polynomial in s = f/(2+f) and k·Ln2Hi − ((hfsq − (s·(hfsq+R) +
// k·Ln2Lo)) − f). Uses Z11–Z16 and K3.
#define LOG(in, out) \
	VPANDQ.BCST K(224), in, Z11; \
	VPORQ.BCST K(248), Z11, Z11; \
	VPSRLQ $52, in, Z12; \
	VPANDQ.BCST K(288), Z12, Z12; \
	VPSUBQ.BCST K(296), Z12, Z12; \
	VCVTQQ2PD Z12, Z12; \
	VBROADCASTSD K(280), Z13; \
	VCMPPD $5, Z11, Z13, K3; \
	VBROADCASTSD.Z K(104), K3, Z14; \
	VSUBPD Z14, Z12, Z12; \
	VADDPD.BCST K(104), Z14, Z14; \
	VMULPD Z14, Z11, Z11; \
	VSUBPD.BCST K(104), Z11, Z11; \
	VADDPD.BCST K(112), Z11, Z13; \
	VDIVPD Z13, Z11, Z13; \
	VMULPD Z13, Z13, Z14; \
	VMULPD Z14, Z14, Z15; \
	VMULPD.BCST K(216), Z15, Z16; \
	VADDPD.BCST K(200), Z16, Z16; \
	VMULPD Z15, Z16, Z16; \
	VADDPD.BCST K(184), Z16, Z16; \
	VMULPD Z15, Z16, Z16; \
	VADDPD.BCST K(168), Z16, Z16; \
	VMULPD Z16, Z14, Z14; \
	VMULPD.BCST K(208), Z15, Z16; \
	VADDPD.BCST K(192), Z16, Z16; \
	VMULPD Z15, Z16, Z16; \
	VADDPD.BCST K(176), Z16, Z16; \
	VMULPD Z16, Z15, Z15; \
	VADDPD Z15, Z14, Z14; \
	VMULPD.BCST K(96), Z11, Z16; \
	VMULPD Z11, Z16, Z16; \
	VADDPD Z16, Z14, Z14; \
	VMULPD Z14, Z13, Z13; \
	VMULPD.BCST K(160), Z12, Z14; \
	VADDPD Z14, Z13, Z13; \
	VSUBPD Z13, Z16, Z16; \
	VSUBPD Z11, Z16, Z16; \
	VMULPD.BCST K(152), Z12, Z12; \
	VSUBPD Z16, Z12, out

// func survs8(q *paretoAlive, u, out *[8]float64) (rare uint8)
//
// out[k] = q.surv(u[k]) = exp(R·log(A/(A+u)) + s·log(B/(B+u))) as Go
// computes it: the sums and quotients, math.Log (LOG), the two products
// and their sum, then math.Exp's FMA path (EXP), each rounded. Lanes the
// vector steps do not cover (a quotient not normal or not below +Inf, or
// the exponent's lanes EXP leaves, as in sigmoid8) come back set in rare
// for the caller to redo with surv.
TEXT ·survs8(SB), NOSPLIT, $0-25
	MOVQ q+0(FP), AX
	MOVQ u+8(FP), BX
	VMOVUPD (BX), Z0                     // u
	VBROADCASTSD K(104), Z30             // 1
	VBROADCASTSD paretoAlive_A(AX), Z20
	VADDPD Z0, Z20, Z21
	VDIVPD Z21, Z20, Z21                 // A/(A+u)
	VBROADCASTSD paretoAlive_B(AX), Z22
	VADDPD Z0, Z22, Z23
	VDIVPD Z23, Z22, Z23                 // B/(B+u)
	VCMPPD.BCST $13, K(304), Z21, K1     // ≥ the least normal
	VCMPPD.BCST $1, K(120), Z21, K4      // < +Inf
	KANDB K4, K1, K1
	VCMPPD.BCST $13, K(304), Z23, K4
	KANDB K4, K1, K1
	VCMPPD.BCST $1, K(120), Z23, K4
	KANDB K4, K1, K1
	LOG(Z21, Z24)
	LOG(Z23, Z25)
	VMULPD.BCST paretoAlive_R(AX), Z24, Z24
	VMULPD.BCST paretoAlive_s(AX), Z25, Z25
	VADDPD Z25, Z24, Z2                  // x
	VANDPD.BCST K(0), Z2, Z1             // |x|
	VCMPPD.BCST $1, K(120), Z1, K4       // finite
	KANDB K4, K1, K1
	VCMPPD.BCST $2, K(272), Z2, K4       // x ≤ the overflow bound
	KANDB K4, K1, K1
	EXP
	KANDB K2, K1, K1                     // n + 1023 > 0
	VPBROADCASTD K(268), Y11
	VPCMPD $1, Y11, Y4, K3               // n < 1024
	KANDB K3, K1, K1
	MOVQ out+16(FP), AX
	VMOVUPD Z6, (AX)
	KNOTB K1, K1
	KMOVB K1, AX
	MOVB AX, rare+24(FP)
	VZEROUPPER
	RET
