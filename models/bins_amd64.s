#include "textflag.h"
#include "go_asm.h"

// binKeysAVX512 finds the bins of n values of one feature, strided in a
// row-major matrix, by counting the bounds below each value's order key
// instead of a binary search: four compares with the pivots (every
// eighth bound) count the blocks of eight bounds wholly below the key, one
// more the bounds below it in the next block. See binTable. Needs AVX-512
// F and DQ (haveAVX512).

// func binKeysAVX512(t *binTable, x []float64, at []int, out, rows []uint8, stride int)
//
// out[i] and, when rows is not empty, rows[i·stride] = the bin of x[at[i]],
// for i < len(at).
TEXT ·binKeysAVX512(SB), NOSPLIT, $0-112
	MOVQ t+0(FP), DI
	MOVQ x_base+8(FP), SI
	MOVQ at_base+32(FP), R8
	MOVQ at_len+40(FP), CX
	MOVQ out_base+56(FP), R9
	MOVQ rows_base+80(FP), R14
	MOVQ rows_len+88(FP), R15
	TESTQ R15, R15
	JNE haverows
	XORQ R14, R14          // no rows: none written

haverows:
	MOVQ stride+104(FP), R15
	VMOVDQU64 binTable_pivots(DI), Z0     // pivots 0–7
	VMOVDQU64 binTable_pivots+64(DI), Z1  // 8–15
	VMOVDQU64 binTable_pivots+128(DI), Z2 // 16–23
	VMOVDQU64 binTable_pivots+192(DI), Z3 // 24–31
	MOVQ binTable_last(DI), R13           // the largest bin
	LEAQ binTable_bounds(DI), DI          // the bounds, padded by blocks of eight
	XORQ R10, R10          // i
	TESTQ CX, CX
	JEQ done

loop:
	MOVQ (R8)(R10*8), AX
	MOVSD (SI)(AX*8), X9
	MOVQ X9, AX            // the value's bits
	UCOMISD X9, X9
	SETPS R12              // 1 when NaN
	// The order key (sortKey): negative values flip every bit, others the
	// sign. −0 is not made +0 first, as sortKey does: its key is the one
	// just below +0's, and no bound's key lies between them (sortKey
	// makes every bound ≥ +0 or < −0), so it counts the same bounds.
	MOVQ AX, DX
	SARQ $63, DX
	BTSQ $63, DX
	XORQ DX, AX
	VPBROADCASTQ AX, Z8
	VPCMPUQ $6, Z0, Z8, K1 // key > pivot
	VPCMPUQ $6, Z1, Z8, K2
	VPCMPUQ $6, Z2, Z8, K3
	VPCMPUQ $6, Z3, Z8, K4
	KMOVB K1, AX
	KMOVB K2, BX
	KMOVB K3, DX
	KMOVB K4, R11
	SHLL $8, BX
	SHLL $16, DX
	SHLL $24, R11
	ORL BX, AX
	ORL DX, R11
	ORL R11, AX
	POPCNTL AX, AX         // c: the blocks wholly below the key
	SHLQ $6, AX            // block c's offset in bytes
	VPCMPUQ $6, (DI)(AX*1), Z8, K5
	KMOVB K5, BX
	POPCNTL BX, BX
	SHRQ $3, AX            // 8c
	ADDQ BX, AX            // the bounds below the key
	CMPQ AX, R13
	CMOVQGT R13, AX        // +Inf and beyond join the last bin
	MOVQ $255, DX
	TESTB R12, R12
	CMOVQNE DX, AX         // missing values: bin 255
	MOVB AX, (R9)(R10*1)
	TESTQ R14, R14
	JEQ next
	MOVB AX, (R14)
	ADDQ R15, R14

next:
	INCQ R10
	CMPQ R10, CX
	JLT loop

done:
	VZEROUPPER
	RET

// func touchRows(x []float64, at []int, p int)
//
// Loads a word of every cache line of the rows x[at[i]:at[i]+p] (p ≥ 1):
// independent loads, all in flight together, so binKeysAVX512's loads,
// strided a row apart, find the lines in the cache instead of waiting on
// memory one at a time (prefetch instructions did half as well).
TEXT ·touchRows(SB), NOSPLIT, $0-56
	MOVQ x_base+0(FP), SI
	MOVQ at_base+24(FP), R8
	MOVQ at_len+32(FP), CX
	MOVQ p+48(FP), DX
	SHLQ $3, DX            // a row's bytes
	TESTQ CX, CX
	JEQ tdone

trow:
	MOVQ (R8), AX
	LEAQ (SI)(AX*8), AX    // the row's first value
	LEAQ -8(AX)(DX*1), BX  // its last
	MOVQ (BX), R9

tline:
	MOVQ (AX), R9
	ADDQ $64, AX
	CMPQ AX, BX
	JLT tline
	ADDQ $8, R8
	DECQ CX
	JNE trow

tdone:
	RET
