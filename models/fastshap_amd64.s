#include "textflag.h"
#include "go_asm.h"
#include "transpose_amd64.h"

// LOADVEC and STOREVEC move the vector of the group's feature whose byte
// offset in the block is at off(SI).
#define LOADVEC(off, z) \
	MOVLQSX off(SI), AX; \
	VMOVUPD (R9)(AX*1), z

#define STOREVEC(off, z) \
	MOVLQSX off(SI), AX; \
	VMOVUPD z, (R9)(AX*1)

// OPROW is a step for one row: the row's table row of the leaf (its
// offset in flat at off(DX)), permuted by Z16, added to the row's sums
// (acc) in the lanes of K1.
#define OPROW(off, tmp, acc) \
	MOVLQSX off(DX), AX; \
	VPERMPD (R8)(AX*8), Z16, tmp; \
	VADDPD tmp, acc, K1, acc

// func explainKeys8AVX512(b *shapBits, phiT []float64, keysT []uint64, sc *shapScratch8, margin *[8]float64)
//
// explainKeys8 for one block of eight rows held feature-major (phiT and
// keysT: eight values a feature, row r in lane r) and a tree with vec set.
// The splits, path masks and table offsets take every row in a vector
// lane; the sums take every row in a vector, eight of the tree's features
// in its lanes, so a leaf's table row is read as one vector (no gathers).
// Each feature gets explainKeys8's additions in the same order, so the
// sums are the same to the bit. The value of the leaf row r reaches (as
// Tree.predict finds it) is added to margin[r]. Needs AVX-512 F, VL and
// DQ (haveAVX512).
TEXT ·explainKeys8AVX512(SB), NOSPLIT, $0-72
	MOVQ b+0(FP), R8
	MOVQ phiT_base+8(FP), R9
	MOVQ keysT_base+32(FP), R10
	MOVQ sc+56(FP), R11

	// Splits: right[node] gets the rows that go right there, a bit a row:
	// (key + shift) mod 2⁶⁴ > bound.
	MOVQ shapBits_splits(R8), SI
	MOVQ shapBits_splits+8(R8), R12
	TESTQ R12, R12
	JZ forks

splitloop:
	VPBROADCASTQ keySplit_shift(SI), Z1
	VPBROADCASTQ keySplit_bound(SI), Z2
	MOVLQSX keySplit_feat(SI), AX
	SHLQ $6, AX
	VPADDQ (R10)(AX*1), Z1, Z0
	VPCMPUQ $6, Z2, Z0, K1
	MOVBQZX keySplit_node(SI), AX
	KMOVB K1, shapScratch8_right(R11)(AX*1)
	ADDQ $keySplit__size, SI
	DECQ R12
	JNZ splitloop

forks:
	// Masks of path slots, parents before children; the root's is empty.
	VPXOR Y0, Y0, Y0
	VMOVDQU Y0, shapScratch8_mask(R11)
	MOVQ shapBits_forks(R8), SI
	MOVQ shapBits_forks+8(R8), R12
	TESTQ R12, R12
	JZ leaves

forkloop:
	MOVBQZX shapFork_parent(SI), AX
	MOVWQZX shapFork_parentOff(SI), DX
	MOVWQZX shapFork_leftOff(SI), BX
	VPBROADCASTD shapFork_newSlot(SI), Y1
	VPOR shapScratch8_mask(R11)(DX*1), Y1, Y2 // o: the parent's mask with its slot
	VPBROADCASTD shapFork_slotBit(SI), Y3
	VPANDN Y2, Y3, Y4                        // o without the slot
	KMOVB shapScratch8_right(R11)(AX*1), K1
	VPBLENDMD Y4, Y2, K1, Y5                 // left child: slot cleared where the row goes right
	VPBLENDMD Y2, Y4, K1, Y6                 // right child: cleared where it goes left
	VMOVDQU Y5, shapScratch8_mask(R11)(BX*1)
	VMOVDQU Y6, shapScratch8_mask+32(R11)(BX*1)
	ADDQ $shapFork__size, SI
	DECQ R12
	JNZ forkloop

leaves:
	// Each leaf's offset of its table row: base + mask × stride. The leaf
	// a row reaches is the one whose path features are all hot (full
	// mask): its value goes to the row's lane of Z25, then to margin.
	MOVQ shapBits_leafNode(R8), SI
	MOVQ shapBits_leafNode+8(R8), R12
	MOVQ shapBits_leafBase(R8), DI
	MOVQ shapBits_leafStride(R8), DX
	MOVQ shapBits_leafFull(R8), R13
	MOVQ shapBits_leafValue(R8), R10
	VPXORQ Z25, Z25, Z25
	XORQ BX, BX
	TESTQ R12, R12
	JZ margins

leafloop:
	MOVBQZX (SI)(BX*1), AX
	SHLQ $5, AX
	VMOVDQU shapScratch8_mask(R11)(AX*1), Y5
	VPBROADCASTD (DI)(BX*4), Y1
	VPBROADCASTD (DX)(BX*4), Y2
	VPMULLD Y5, Y2, Y3
	VPADDD Y1, Y3, Y3
	VPBROADCASTD (R13)(BX*4), Y4
	VPCMPEQD Y5, Y4, K2
	VBROADCASTSD (R10)(BX*8), Z6
	VMOVAPD Z6, K2, Z25
	MOVQ BX, AX
	SHLQ $5, AX
	VMOVDQU Y3, shapScratch8_row(R11)(AX*1)
	INCQ BX
	CMPQ BX, R12
	JLT leafloop

margins:
	MOVQ margin+64(FP), AX
	VADDPD (AX), Z25, Z25
	VMOVUPD Z25, (AX)

sums:
	// Each group of eight of the tree's features in turn: its vectors
	// (row r in lane r) are turned into the block's rows (feature i in lane
	// i, row r in Z8+r); each step permutes a leaf's table row of every
	// row into the group's lanes and adds it in the step's lanes; the rows
	// are turned back into feature vectors and stored, the padding lanes
	// first so a group's first feature is stored last. A feature's
	// contributions are added in leaf order, as explainKeys8 adds them.
	MOVQ shapBits_vecOff(R8), SI
	MOVQ shapBits_vecOff+8(R8), R12
	MOVQ shapBits_ops(R8), BX
	MOVQ shapBits_opEnd(R8), DI
	MOVQ shapBits_flat(R8), R8
	XORQ CX, CX
	TESTQ R12, R12
	JZ done

grouploop:
	LOADVEC(0, Z0)
	LOADVEC(4, Z1)
	LOADVEC(8, Z2)
	LOADVEC(12, Z3)
	LOADVEC(16, Z4)
	LOADVEC(20, Z5)
	LOADVEC(24, Z6)
	LOADVEC(28, Z7)
	TRANSPOSE
	MOVLQSX (DI), R10
	CMPQ CX, R10
	JGE groupdone

oploop:
	VPMOVZXBQ shapOp_idx(BX), Z16
	KMOVB shapOp_lanes(BX), K1
	MOVBQZX shapOp_leaf(BX), DX
	SHLQ $5, DX
	LEAQ shapScratch8_row(R11)(DX*1), DX
	OPROW(0, Z17, Z8)
	OPROW(4, Z18, Z9)
	OPROW(8, Z19, Z10)
	OPROW(12, Z20, Z11)
	OPROW(16, Z21, Z12)
	OPROW(20, Z22, Z13)
	OPROW(24, Z23, Z14)
	OPROW(28, Z24, Z15)
	ADDQ $shapOp__size, BX
	INCQ CX
	CMPQ CX, R10
	JLT oploop

groupdone:
	VMOVAPD Z8, Z0
	VMOVAPD Z9, Z1
	VMOVAPD Z10, Z2
	VMOVAPD Z11, Z3
	VMOVAPD Z12, Z4
	VMOVAPD Z13, Z5
	VMOVAPD Z14, Z6
	VMOVAPD Z15, Z7
	TRANSPOSE
	STOREVEC(28, Z15)
	STOREVEC(24, Z14)
	STOREVEC(20, Z13)
	STOREVEC(16, Z12)
	STOREVEC(12, Z11)
	STOREVEC(8, Z10)
	STOREVEC(4, Z9)
	STOREVEC(0, Z8)
	ADDQ $32, SI
	ADDQ $4, DI
	SUBQ $8, R12
	JNZ grouploop

done:
	VZEROUPPER
	RET
