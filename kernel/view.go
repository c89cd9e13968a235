package kernel

import "unsafe"

// f32View reinterprets little-endian float32 bytes (as mapped from a GGUF file) as
// []float32 without copying. amd64 and arm64 are little-endian and allow unaligned loads.
func f32View(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// F32View is f32View for other packages (weights of type F32 mapped from a file).
func F32View(b []byte) []float32 { return f32View(b) }
