//go:build !amd64 || purego

package kernel

// packedOK is false: this build has no packed kernels, so matrices are not packed.
func packedOK() bool { return false }
