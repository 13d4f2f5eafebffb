#include "textflag.h"

// Eight rows of the logit's standardised matrix (z: 8×p, row-major) at a
// time, every row in a vector lane: each lane's products and sums are the
// ones logitRowLossGrad computes, in the same order, so the results are
// the same to the bit. Needs AVX-512 F (haveAVX512).

// TRANSPOSE turns rows Z0–Z7 (eight columns each) into columns: Z8–Z15
// hold columns 0–7, row r in lane r. Z0–Z7 are overwritten.
#define TRANSPOSE \
	VUNPCKLPD Z1, Z0, Z8; \
	VUNPCKHPD Z1, Z0, Z9; \
	VUNPCKLPD Z3, Z2, Z10; \
	VUNPCKHPD Z3, Z2, Z11; \
	VUNPCKLPD Z5, Z4, Z12; \
	VUNPCKHPD Z5, Z4, Z13; \
	VUNPCKLPD Z7, Z6, Z14; \
	VUNPCKHPD Z7, Z6, Z15; \
	VSHUFF64X2 $0x88, Z10, Z8, Z0; \
	VSHUFF64X2 $0xDD, Z10, Z8, Z1; \
	VSHUFF64X2 $0x88, Z11, Z9, Z2; \
	VSHUFF64X2 $0xDD, Z11, Z9, Z3; \
	VSHUFF64X2 $0x88, Z14, Z12, Z4; \
	VSHUFF64X2 $0xDD, Z14, Z12, Z5; \
	VSHUFF64X2 $0x88, Z15, Z13, Z6; \
	VSHUFF64X2 $0xDD, Z15, Z13, Z7; \
	VSHUFF64X2 $0x88, Z4, Z0, Z8; \
	VSHUFF64X2 $0xDD, Z4, Z0, Z12; \
	VSHUFF64X2 $0x88, Z6, Z2, Z9; \
	VSHUFF64X2 $0xDD, Z6, Z2, Z13; \
	VSHUFF64X2 $0x88, Z5, Z1, Z10; \
	VSHUFF64X2 $0xDD, Z5, Z1, Z14; \
	VSHUFF64X2 $0x88, Z7, Z3, Z11; \
	VSHUFF64X2 $0xDD, Z7, Z3, Z15

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
