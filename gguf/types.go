package gguf

import "fmt"

// Type is a ggml tensor type id as stored in a GGUF tensor-info record
// (enum ggml_type in ggml/include/ggml.h).
type Type uint32

// ggml type ids. Gaps are ids ggml has retired or that golem does not know.
const (
	TypeF32  Type = 0
	TypeF16  Type = 1
	TypeQ4_0 Type = 2
	TypeQ4_1 Type = 3
	TypeQ5_0 Type = 6
	TypeQ5_1 Type = 7
	TypeQ8_0 Type = 8
	TypeQ8_1 Type = 9
	TypeQ2_K Type = 10
	TypeQ3_K Type = 11
	TypeQ4_K Type = 12
	TypeQ5_K Type = 13
	TypeQ6_K Type = 14
	TypeQ8_K Type = 15
	TypeI8   Type = 24
	TypeI16  Type = 25
	TypeI32  Type = 26
	TypeI64  Type = 27
	TypeF64  Type = 28
	TypeBF16 Type = 30
)

// QK_K is the super-block size of the k-quants (ggml-common.h).
const QK_K = 256

type typeTraits struct {
	name      string
	blockSize int // elements per block
	typeSize  int // bytes per block
}

// Layouts from ggml/src/ggml-common.h (block_q4_0 etc.).
var traits = map[Type]typeTraits{
	TypeF32:  {"F32", 1, 4},
	TypeF16:  {"F16", 1, 2},
	TypeQ4_0: {"Q4_0", 32, 2 + 16},
	TypeQ4_1: {"Q4_1", 32, 2 + 2 + 16},
	TypeQ5_0: {"Q5_0", 32, 2 + 4 + 16},
	TypeQ5_1: {"Q5_1", 32, 2 + 2 + 4 + 16},
	TypeQ8_0: {"Q8_0", 32, 2 + 32},
	TypeQ8_1: {"Q8_1", 32, 4 + 32},
	TypeQ2_K: {"Q2_K", QK_K, QK_K/16 + QK_K/4 + 2 + 2},
	TypeQ3_K: {"Q3_K", QK_K, QK_K/8 + QK_K/4 + 12 + 2},
	TypeQ4_K: {"Q4_K", QK_K, 2 + 2 + 12 + QK_K/2},
	TypeQ5_K: {"Q5_K", QK_K, 2 + 2 + 12 + QK_K/8 + QK_K/2},
	TypeQ6_K: {"Q6_K", QK_K, QK_K/2 + QK_K/4 + QK_K/16 + 2},
	TypeQ8_K: {"Q8_K", QK_K, 4 + QK_K + QK_K/16*2},
	TypeI8:   {"I8", 1, 1},
	TypeI16:  {"I16", 1, 2},
	TypeI32:  {"I32", 1, 4},
	TypeI64:  {"I64", 1, 8},
	TypeF64:  {"F64", 1, 8},
	TypeBF16: {"BF16", 1, 2},
}

// Known reports whether golem knows the layout of t.
func (t Type) Known() bool { _, ok := traits[t]; return ok }

// String returns ggml's name for t ("Q4_K"), or "type(N)" for an unknown id.
func (t Type) String() string {
	if tr, ok := traits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for plain types, 32 or 256 for quants).
// It is 0 for an unknown type.
func (t Type) BlockSize() int { return traits[t].blockSize }

// TypeSize is the number of bytes in one block. It is 0 for an unknown type.
func (t Type) TypeSize() int { return traits[t].typeSize }

// RowSize returns the bytes of a row of n elements, or an error when n is not a whole
// number of blocks or the type is unknown.
func (t Type) RowSize(n int64) (int64, error) {
	tr, ok := traits[t]
	if !ok {
		return 0, fmt.Errorf("gguf: unknown tensor type %d", uint32(t))
	}
	if n < 0 || n%int64(tr.blockSize) != 0 {
		return 0, fmt.Errorf("gguf: %d elements is not a whole number of %s blocks (%d)", n, tr.name, tr.blockSize)
	}
	return n / int64(tr.blockSize) * int64(tr.typeSize), nil
}

// ParseType returns the Type named s (case-insensitive, as ggml names it: "q4_k", "F16").
func ParseType(s string) (Type, error) {
	for t, tr := range traits {
		if equalFold(tr.name, s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("gguf: unknown tensor type %q", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 32
		}
		if 'a' <= y && y <= 'z' {
			y -= 32
		}
		if x != y {
			return false
		}
	}
	return true
}
