package tokenizer

import (
	"hash/maphash"
	"math/bits"
)

// strTable maps the strings of keys to their index: an open-addressing hash table (linear
// probing) of 8-byte slots holding a 32-bit hash tag and the index. It builds several times
// faster than a map[string]int32 for the 150k-300k tokens and merges of current vocabularies,
// because each slot is small and no key is copied. Of equal keys the first index wins.
type strTable struct {
	seed  maphash.Seed
	keys  []string
	slots []uint64 // 0: empty; else tag<<32 | (index+1)
	mask  uint64
}

// newStrTable returns an empty table over keys, sized for all of them (len(keys) < 2^31).
func newStrTable(keys []string) *strTable {
	size := 1 << bits.Len(uint(len(keys)+len(keys)/2))
	return &strTable{seed: maphash.MakeSeed(), keys: keys, slots: make([]uint64, size), mask: uint64(size - 1)}
}

// insert adds keys[i] and reports false if an equal key is already there (with its index).
func (t *strTable) insert(i int) (int32, bool) {
	k := t.keys[i]
	h := maphash.String(t.seed, k)
	tag := h >> 32
	for p := h & t.mask; ; p = (p + 1) & t.mask {
		s := t.slots[p]
		if s == 0 {
			t.slots[p] = tag<<32 | uint64(i+1)
			return int32(i), true
		}
		if j := int32(s&0xFFFFFFFF - 1); s>>32 == tag && t.keys[j] == k {
			return j, false
		}
	}
}

// get returns the index of key k.
func (t *strTable) get(k string) (int32, bool) {
	h := maphash.String(t.seed, k)
	tag := h >> 32
	for p := h & t.mask; ; p = (p + 1) & t.mask {
		s := t.slots[p]
		if s == 0 {
			return 0, false
		}
		if s>>32 == tag {
			if i := int32(s&0xFFFFFFFF - 1); t.keys[i] == k {
				return i, true
			}
		}
	}
}

// getBytes is get for a key held in a byte slice (no allocation).
func (t *strTable) getBytes(k []byte) (int32, bool) {
	h := maphash.Bytes(t.seed, k)
	tag := h >> 32
	for p := h & t.mask; ; p = (p + 1) & t.mask {
		s := t.slots[p]
		if s == 0 {
			return 0, false
		}
		if s>>32 == tag {
			if i := int32(s&0xFFFFFFFF - 1); t.keys[i] == string(k) {
				return i, true
			}
		}
	}
}
