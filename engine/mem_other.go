//go:build !linux

package engine

// physicalMemory returns 0 (unknown) off Linux; the KV budget then defaults to 1 GiB.
func physicalMemory() int64 { return 0 }
