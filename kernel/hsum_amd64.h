// HSUM8 reduces the eight float32 lanes of yacc into lane 0 of xacc (yacc's low half) in the
// order of hsum8 (dot.go): ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)); xt is scratch. VEX
// registers only (VEXTRACTF128 has no EVEX form).
#define HSUM8(yacc, xacc, xt) \
	VEXTRACTF128 $1, yacc, xt; \
	VADDPS       xt, xacc, xacc; \
	VMOVHLPS     xacc, xacc, xt; \
	VADDPS       xt, xacc, xacc; \
	VMOVSHDUP    xacc, xt;       \
	VADDSS       xt, xacc, xacc
