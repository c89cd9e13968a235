// Accumulator helpers shared by the tile and GEMV kernels: eight float32 accumulators in
// Y0…Y7 (and Y8…Y15 for the F16 tiles).

// ZERO8 clears the accumulators Y0…Y7.
#define ZERO8 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

// ZERO8HI clears Y8…Y15, the second set of accumulators of the 16-accumulator F16 tiles.
#define ZERO8HI \
	VXORPS Y8, Y8, Y8;    \
	VXORPS Y9, Y9, Y9;    \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11; \
	VXORPS Y12, Y12, Y12; \
	VXORPS Y13, Y13, Y13; \
	VXORPS Y14, Y14, Y14; \
	VXORPS Y15, Y15, Y15

// STORE4 writes accumulator c (eight float32) to DX + c·AX bytes, c = 0…3 (the 8×4 tiles); DX
// ends at the last. STORE8 does c = 0…7.
#define STORE4 \
	VMOVUPS Y0, (DX); \
	ADDQ    AX, DX;   \
	VMOVUPS Y1, (DX); \
	ADDQ    AX, DX;   \
	VMOVUPS Y2, (DX); \
	ADDQ    AX, DX;   \
	VMOVUPS Y3, (DX)

#define STORE8 \
	STORE4;           \
	ADDQ    AX, DX;   \
	VMOVUPS Y4, (DX); \
	ADDQ    AX, DX;   \
	VMOVUPS Y5, (DX); \
	ADDQ    AX, DX;   \
	VMOVUPS Y6, (DX); \
	ADDQ    AX, DX;   \
	VMOVUPS Y7, (DX)

// One-pass tiles keep their float accumulators in the frame: FRAMEZERO8(o) clears Y0 and the
// eight accumulators at o … o+255(SP); FRAMELOAD8(o) loads them into Y0…Y7 (for STORE8).
// FRAMEZERO4 and FRAMELOAD4 are the same for four.
#define FRAMEZERO4(o) \
	VXORPS  Y0, Y0, Y0;   \
	VMOVUPS Y0, (o)(SP);    \
	VMOVUPS Y0, (o+32)(SP); \
	VMOVUPS Y0, (o+64)(SP); \
	VMOVUPS Y0, (o+96)(SP)

#define FRAMEZERO8(o) \
	FRAMEZERO4(o);           \
	VMOVUPS Y0, (o+128)(SP); \
	VMOVUPS Y0, (o+160)(SP); \
	VMOVUPS Y0, (o+192)(SP); \
	VMOVUPS Y0, (o+224)(SP)

#define FRAMELOAD4(o) \
	VMOVUPS (o)(SP), Y0;    \
	VMOVUPS (o+32)(SP), Y1; \
	VMOVUPS (o+64)(SP), Y2; \
	VMOVUPS (o+96)(SP), Y3

#define FRAMELOAD8(o) \
	FRAMELOAD4(o);           \
	VMOVUPS (o+128)(SP), Y4; \
	VMOVUPS (o+160)(SP), Y5; \
	VMOVUPS (o+192)(SP), Y6; \
	VMOVUPS (o+224)(SP), Y7
