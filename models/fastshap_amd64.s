#include "textflag.h"
#include "go_asm.h"

// func explainKeys8AVX512(b *shapBits, phiT []float64, keysT []uint64, sc *shapScratch8)
//
// explainKeys8 for one block of eight rows held feature-major (phiT and
// keysT: eight values a feature, row r in lane r), every row in a vector
// lane: the same integer steps and, per lane, the same float additions in
// the same order, so the sums are explainKeys8's to the bit. Needs
// AVX-512 F, VL and DQ (haveAVX512).
TEXT ·explainKeys8AVX512(SB), NOSPLIT, $0-64
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
	MOVBQZX shapFork_left(SI), BX
	MOVBQZX shapFork_slot(SI), CX
	MOVL shapFork_newSlot(SI), DI
	VPBROADCASTD DI, Y1
	MOVQ AX, DX
	SHLQ $5, DX
	VPOR shapScratch8_mask(R11)(DX*1), Y1, Y2 // o: the parent's mask with its slot
	MOVL $1, DI
	SHLL CX, DI
	VPBROADCASTD DI, Y3
	VPANDN Y2, Y3, Y4                        // o without the slot
	KMOVB shapScratch8_right(R11)(AX*1), K1
	VPBLENDMD Y4, Y2, K1, Y5                 // left child: slot cleared where the row goes right
	VPBLENDMD Y2, Y4, K1, Y6                 // right child: cleared where it goes left
	SHLQ $5, BX
	VMOVDQU Y5, shapScratch8_mask(R11)(BX*1)
	VMOVDQU Y6, shapScratch8_mask+32(R11)(BX*1)
	ADDQ $shapFork__size, SI
	DECQ R12
	JNZ forkloop

leaves:
	// Each leaf's offset of its table row: base + mask × m.
	MOVQ shapBits_leafNode(R8), SI
	MOVQ shapBits_leafNode+8(R8), R12
	MOVQ shapBits_leafBase(R8), DI
	MOVQ shapBits_leafM(R8), DX
	XORQ BX, BX
	TESTQ R12, R12
	JZ sums

leafloop:
	MOVBQZX (SI)(BX*1), AX
	SHLQ $5, AX
	VPBROADCASTD (DI)(BX*4), Y1
	VPBROADCASTD (DX)(BX*4), Y2
	VPMULLD shapScratch8_mask(R11)(AX*1), Y2, Y3
	VPADDD Y1, Y3, Y3
	MOVQ BX, AX
	SHLQ $5, AX
	VMOVDQU Y3, shapScratch8_row(R11)(AX*1)
	INCQ BX
	CMPQ BX, R12
	JLT leafloop

sums:
	// Each feature's contributions, added in leaf order in its lanes.
	MOVQ shapBits_feats(R8), SI
	MOVQ shapBits_feats+8(R8), R12
	MOVQ shapBits_useEnd(R8), DI
	MOVQ shapBits_uses(R8), R13
	MOVQ shapBits_flat(R8), R8
	TESTQ R12, R12
	JZ done
	XORQ BX, BX
	XORQ CX, CX

featloop:
	MOVLQSX (SI)(BX*4), AX
	SHLQ $6, AX
	VMOVUPD (R9)(AX*1), Z0
	MOVLQSX (DI)(BX*4), R10
	CMPQ CX, R10
	JGE featdone

useloop:
	MOVBLZX 1(R13)(CX*2), DX
	VPBROADCASTD DX, Y2
	MOVBQZX (R13)(CX*2), DX
	SHLQ $5, DX
	VPADDD shapScratch8_row(R11)(DX*1), Y2, Y3
	KXNORB K1, K1, K1
	VGATHERDPD (R8)(Y3*8), K1, Z4
	VADDPD Z4, Z0, Z0
	INCQ CX
	CMPQ CX, R10
	JLT useloop

featdone:
	VMOVUPD Z0, (R9)(AX*1)
	INCQ BX
	CMPQ BX, R12
	JLT featloop

done:
	VZEROUPPER
	RET
