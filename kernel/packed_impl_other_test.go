//go:build !amd64 || purego

package kernel

import "testing"

// eachImpl runs fn once: this build has only the pure-Go reference.
func eachImpl(t *testing.T, fn func(t *testing.T)) { t.Run(Impl(), fn) }
