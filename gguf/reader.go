// Package gguf reads and writes GGUF files, the model format of ggml and llama.cpp
// (versions 2 and 3, little-endian; layout as in ggml/src/gguf.cpp and docs/gguf.md):
//
//	magic "GGUF" | version u32 | n_tensors u64 | n_kv u64
//	n_kv × (key string | value type u32 | value)
//	n_tensors × (name string | n_dims u32 | n_dims × ne u64 | ggml type u32 | offset u64)
//	padding to the alignment | data section (each tensor at its offset, aligned)
//
// A string is a u64 byte length and the bytes (no terminator); an array is an element type
// u32, a u64 count and the elements. The alignment is general.alignment (uint32, a power of
// two) or 32.
//
// The reader trusts nothing: every count and length is checked against the bytes that remain
// before anything is allocated, and every error names the key or tensor and the byte offset.
package gguf

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Magic is the first four bytes of a GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent (GGUF_DEFAULT_ALIGNMENT).
const DefaultAlignment = 32

// MaxDims is the most dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

// prealloc caps slices and maps sized from a count in the file before the entries are read.
const prealloc = 1024

// maxArrayDepth bounds nested arrays so hostile files cannot exhaust the stack.
const maxArrayDepth = 16

// KV is one metadata key and its value.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name   string
	Dims   []uint64 // ggml order: ne0 (the contiguous row length) first
	Type   Type
	Offset uint64 // bytes, relative to the start of the data section
	Size   int64  // bytes: RowSize(ne0) × ne1 × ne2 × ne3
}

// NumElements returns the product of the dimensions (1 for a tensor with no dimensions).
func (t *TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// File is a parsed GGUF file. Metadata and tensor infos are copied out of the input; tensor
// data is sliced from it (the mapping for Open, the caller's slice for Parse).
type File struct {
	Version    uint32
	Alignment  uint64
	KVs        []KV         // file order
	Tensors    []TensorInfo // file order
	DataOffset int64        // absolute byte offset of the data section

	data    []byte
	unmap   func() error
	drop    func(b []byte) // DropPages for a mapping; nil otherwise
	kvIndex map[string]int
	tIndex  map[string]int
}

// Data returns the whole file's bytes (the mapping for Open). It is invalid after Close.
func (f *File) Data() []byte { return f.data }

// Close releases the mapping made by Open. Slices from TensorData and Data are invalid after
// Close. Close on a File from Parse does nothing.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap, f.data = nil, nil
	return u()
}

// DropPages tells the OS that the bytes b of the mapping (a slice of TensorData) will not be
// read again soon, so the whole pages inside b leave the process's resident memory; a later read
// faults them back from the page cache. The loader calls it for weights it has copied into
// another layout (kernel's packed matrices), so that a model is not counted twice in RSS. It
// does nothing for a File from Parse or on platforms without mmap. Errors are ignored: the
// advice only affects memory accounting, never the bytes read.
func (f *File) DropPages(b []byte) {
	if f.drop != nil && len(b) > 0 {
		f.drop(b)
	}
}

// Lookup returns the value of key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.KVs[i].Value, true
}

// String returns the string value of key; false if absent or not a string.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return "", false
	}
	return v.AsString()
}

// Uint returns the value of key if it is an integer ≥ 0 of any integer type.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.AsUint()
}

// Int returns the value of key if it is an integer of any type that fits int64.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.AsInt()
}

// Float returns the value of key if it is a float32, float64 or an integer.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.AsFloat()
}

// Bool returns the value of key if it is a bool.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return false, false
	}
	return v.AsBool()
}

// Strings returns the value of key if it is an array of strings (shared: do not modify).
func (f *File) Strings(key string) ([]string, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.AsStrings()
}

// Float32s returns the value of key if it is an array of numbers, converted to float32.
func (f *File) Float32s(key string) ([]float32, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.AsFloat32s()
}

// Int32s returns the value of key if it is an array of integers that all fit int32.
func (f *File) Int32s(key string) ([]int32, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.AsInt32s()
}

// Tensor returns the info of the tensor called name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of t (len t.Size), sliced from the file without a copy.
// t must come from f (Parse checked that it lies inside the file).
func (f *File) TensorData(t *TensorInfo) []byte {
	start := f.DataOffset + int64(t.Offset)
	return f.data[start : start+t.Size : start+t.Size]
}

// Parse parses a GGUF file held in memory. Tensor data is not copied: TensorData slices data,
// so data must not change while the File is in use.
func Parse(data []byte) (*File, error) {
	r := &reader{b: data}
	f := &File{data: data}
	if err := r.parse(f); err != nil {
		return nil, err
	}
	return f, nil
}

type reader struct {
	b   []byte
	pos int
}

func (r *reader) remaining() int { return len(r.b) - r.pos }

// errShort reports that n bytes of what were needed at the current offset.
func (r *reader) errShort(n int, what string) error {
	return fmt.Errorf("%s at offset %d: need %d bytes, file ends after %d", what, r.pos, n, r.remaining())
}

func (r *reader) need(n int, what string) error {
	if n > r.remaining() {
		return r.errShort(n, what)
	}
	return nil
}

func (r *reader) u32(what string) (uint32, error) {
	if err := r.need(4, what); err != nil {
		return 0, err
	}
	x := binary.LittleEndian.Uint32(r.b[r.pos:])
	r.pos += 4
	return x, nil
}

func (r *reader) u64(what string) (uint64, error) {
	if err := r.need(8, what); err != nil {
		return 0, err
	}
	x := binary.LittleEndian.Uint64(r.b[r.pos:])
	r.pos += 8
	return x, nil
}

// count reads a u64 element count and checks that count × minSize bytes remain.
func (r *reader) count(what string, minSize int) (int, error) {
	at := r.pos
	n, err := r.u64(what)
	if err != nil {
		return 0, err
	}
	if minSize < 1 {
		minSize = 1
	}
	if n > uint64(r.remaining()/minSize) {
		return 0, fmt.Errorf("%s %d at offset %d: needs at least %d bytes each, only %d bytes remain", what, n, at, minSize, r.remaining())
	}
	return int(n), nil
}

// stringBytes reads a string's length and returns the byte range of its contents.
func (r *reader) stringBytes(what string) (int, int, error) {
	at := r.pos
	n, err := r.u64(what + " length")
	if err != nil {
		return 0, 0, err
	}
	if n > uint64(r.remaining()) {
		return 0, 0, fmt.Errorf("%s length %d at offset %d: only %d bytes remain", what, n, at, r.remaining())
	}
	s := r.pos
	r.pos += int(n)
	return s, r.pos, nil
}

func (r *reader) str(what string) (string, error) {
	s, e, err := r.stringBytes(what)
	if err != nil {
		return "", err
	}
	return string(r.b[s:e]), nil
}

func (r *reader) parse(f *File) error {
	if len(r.b) < 4 || string(r.b[:4]) != Magic {
		n := min(4, len(r.b))
		return fmt.Errorf("gguf: bad magic %q at offset 0 (want %q)", r.b[:n], Magic)
	}
	r.pos = 4
	v, err := r.u32("version")
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	switch {
	case v == 2 || v == 3:
	case v == 1:
		return fmt.Errorf("gguf: version 1 at offset 4 is not supported (only 2 and 3)")
	case bits.ReverseBytes32(v) == 2 || bits.ReverseBytes32(v) == 3:
		return fmt.Errorf("gguf: version %#x at offset 4: a big-endian file, not supported", v)
	default:
		return fmt.Errorf("gguf: unsupported version %d at offset 4 (only 2 and 3)", v)
	}
	f.Version = v
	// Smallest tensor info: name length, n_dims, type, offset.
	nTensors, err := r.count("tensor count", 8+4+4+8)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	// Smallest KV: key length, value type, a 1-byte value.
	nKV, err := r.count("metadata KV count", 8+4+1)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}

	// Counts only bound the loops; storage grows with what was actually parsed, so a
	// lying count in a large file cannot make a large allocation up front.
	f.KVs = make([]KV, 0, min(nKV, prealloc))
	f.kvIndex = make(map[string]int, min(nKV, prealloc))
	for i := range nKV {
		at := r.pos
		key, err := r.str("key")
		if err != nil {
			return fmt.Errorf("gguf: KV %d: %w", i, err)
		}
		if _, dup := f.kvIndex[key]; dup {
			return fmt.Errorf("gguf: duplicate key %q at offset %d", key, at)
		}
		t, err := r.u32("value type")
		if err != nil {
			return fmt.Errorf("gguf: key %q: %w", key, err)
		}
		val, err := r.value(ValueType(t), 0)
		if err != nil {
			return fmt.Errorf("gguf: key %q: %w", key, err)
		}
		f.kvIndex[key] = len(f.KVs)
		f.KVs = append(f.KVs, KV{key, val})
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Lookup("general.alignment"); ok {
		a, isU32 := v.AsUint()
		if v.Type() != Uint32 || !isU32 || a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("gguf: key \"general.alignment\": %v of type %v is not a uint32 power of two", v, v.Type())
		}
		f.Alignment = a
	}

	f.Tensors = make([]TensorInfo, 0, min(nTensors, prealloc))
	f.tIndex = make(map[string]int, min(nTensors, prealloc))
	for i := range nTensors {
		at := r.pos
		f.Tensors = append(f.Tensors, TensorInfo{})
		t := &f.Tensors[i]
		if t.Name, err = r.str("name"); err != nil {
			return fmt.Errorf("gguf: tensor %d: %w", i, err)
		}
		if t.Name == "" {
			// A tensor is found by its name; ggml's writer refuses empty names too.
			return fmt.Errorf("gguf: tensor %d (info at offset %d) has an empty name", i, at)
		}
		if _, dup := f.tIndex[t.Name]; dup {
			return fmt.Errorf("gguf: duplicate tensor name %q at offset %d", t.Name, at)
		}
		f.tIndex[t.Name] = i
		if err := r.tensorInfo(t); err != nil {
			return fmt.Errorf("gguf: tensor %q (info at offset %d): %w", t.Name, at, err)
		}
	}

	data := alignUp(uint64(r.pos), f.Alignment)
	f.DataOffset = int64(data)
	if len(f.Tensors) == 0 {
		return nil
	}
	// The data section is what follows the padding; a file whose tensors all have size 0 may
	// even end before the padding.
	var avail uint64
	if data < uint64(len(r.b)) {
		avail = uint64(len(r.b)) - data
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset%f.Alignment != 0 {
			return fmt.Errorf("gguf: tensor %q: offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > avail || uint64(t.Size) > avail-t.Offset {
			return fmt.Errorf("gguf: tensor %q: data [%d, %d) relative to the data section at offset %d runs past the end of the file (size %d)",
				t.Name, t.Offset, t.Offset+uint64(t.Size), data, len(r.b))
		}
	}
	return checkOverlap(f.Tensors)
}

// tensorInfo reads the part of a tensor info after its name.
func (r *reader) tensorInfo(t *TensorInfo) error {
	nd, err := r.u32("n_dims")
	if err != nil {
		return err
	}
	if nd > MaxDims {
		return fmt.Errorf("n_dims %d at offset %d is more than %d", nd, r.pos-4, MaxDims)
	}
	t.Dims = make([]uint64, nd)
	var elems uint64 = 1
	for d := range t.Dims {
		x, err := r.u64("dimension")
		if err != nil {
			return err
		}
		if x > math.MaxInt64 {
			return fmt.Errorf("dimension %d = %d at offset %d is negative as int64", d, x, r.pos-8)
		}
		t.Dims[d] = x
		if x == 0 {
			continue // a zero dimension must not hide an overflow in the others
		}
		hi, lo := bits.Mul64(elems, x)
		if hi != 0 || lo > math.MaxInt64 {
			return fmt.Errorf("dimensions %v overflow int64 elements", t.Dims[:d+1])
		}
		elems = lo
	}
	typ, err := r.u32("type")
	if err != nil {
		return err
	}
	t.Type = Type(typ)
	if !t.Type.Known() {
		return fmt.Errorf("unknown ggml type %d at offset %d", typ, r.pos-4)
	}
	if t.Offset, err = r.u64("data offset"); err != nil {
		return err
	}
	ne0 := int64(1)
	if nd > 0 {
		ne0 = int64(t.Dims[0])
	}
	row, err := t.Type.RowSize(ne0)
	if err != nil {
		return fmt.Errorf("row of %d elements: %w", ne0, err)
	}
	// Rows are counted apart from elems: with ne0 = 0 the other dimensions may still be huge.
	size := uint64(row)
	for d := 1; d < len(t.Dims); d++ {
		hi, lo := bits.Mul64(size, t.Dims[d])
		if hi != 0 || lo > math.MaxInt64 {
			return fmt.Errorf("dimensions %v of %v overflow the byte size", t.Dims, t.Type)
		}
		size = lo
	}
	t.Size = int64(size)
	return nil
}

// value reads one value of type t; depth counts enclosing arrays.
func (r *reader) value(t ValueType, depth int) (Value, error) {
	at := r.pos
	switch {
	case t == String:
		s, err := r.str("string")
		return Value{typ: String, str: s}, err
	case t == Array:
		return r.array(depth)
	case t.Valid():
		sz := t.fixedSize()
		if err := r.need(sz, t.String()); err != nil {
			return Value{}, err
		}
		v := scalarFromBytes(t, r.b[r.pos:])
		r.pos += sz
		return v, nil
	}
	return Value{}, fmt.Errorf("unknown value type %d at offset %d", uint32(t), at-4)
}

func (r *reader) array(depth int) (Value, error) {
	at := r.pos
	if depth >= maxArrayDepth {
		return Value{}, fmt.Errorf("arrays nested deeper than %d at offset %d", maxArrayDepth, at)
	}
	et, err := r.u32("array element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.Valid() {
		return Value{}, fmt.Errorf("array of unknown value type %d at offset %d", et, at)
	}
	n, err := r.count("array length", elem.minSize())
	if err != nil {
		return Value{}, err
	}
	a := &array{elem: elem, n: n}
	switch elem {
	case String:
		// Two passes: check every length (allocating nothing), then copy all the bytes at
		// once and slice the strings out of that one allocation (a 150k-entry vocabulary
		// costs two allocations).
		start := r.pos
		for i := range n {
			if _, _, err := r.stringBytes("array element"); err != nil {
				return Value{}, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		all := string(r.b[start:r.pos])
		a.strs = make([]string, n)
		off := 0
		for i := range n {
			l := int(binary.LittleEndian.Uint64(r.b[start+off:]))
			a.strs[i] = all[off+8 : off+8+l]
			off += 8 + l
		}
	case Array:
		// Nested arrays are checked without allocating, kept as their encoded bytes plus
		// one offset per element, and decoded by Index: memory stays proportional to the
		// file however many tiny arrays it packs.
		start := r.pos
		for i := range n {
			if err := r.skip(Array, depth+1); err != nil {
				return Value{}, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		end := r.pos
		if end-start > math.MaxUint32 {
			return Value{}, fmt.Errorf("array of arrays at offset %d: %d bytes, more than 4 GiB", start, end-start)
		}
		a.offs = make([]uint32, n)
		r.pos = start
		for i := range n {
			a.offs[i] = uint32(r.pos - start)
			r.skip(Array, depth+1) // checked above
		}
		a.raw = append([]byte(nil), r.b[start:end]...)
	default:
		sz := n * elem.fixedSize() // count checked n*minSize ≤ remaining
		a.raw = append([]byte(nil), r.b[r.pos:r.pos+sz]...)
		r.pos += sz
	}
	return Value{typ: Array, arr: a}, nil
}

// skip checks one value of type t like value does and moves past it, allocating nothing.
func (r *reader) skip(t ValueType, depth int) error {
	switch {
	case t == String:
		_, _, err := r.stringBytes("string")
		return err
	case t == Array:
		at := r.pos
		if depth >= maxArrayDepth {
			return fmt.Errorf("arrays nested deeper than %d at offset %d", maxArrayDepth, at)
		}
		et, err := r.u32("array element type")
		if err != nil {
			return err
		}
		elem := ValueType(et)
		if !elem.Valid() {
			return fmt.Errorf("array of unknown value type %d at offset %d", et, at)
		}
		n, err := r.count("array length", elem.minSize())
		if err != nil {
			return err
		}
		if sz := elem.fixedSize(); sz > 0 {
			r.pos += n * sz // count checked n*minSize ≤ remaining
			return nil
		}
		for i := range n {
			if err := r.skip(elem, depth+1); err != nil {
				return fmt.Errorf("array element %d: %w", i, err)
			}
		}
		return nil
	case t.Valid():
		if err := r.need(t.fixedSize(), t.String()); err != nil {
			return err
		}
		r.pos += t.fixedSize()
		return nil
	}
	return fmt.Errorf("unknown value type %d at offset %d", uint32(t), r.pos-4)
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

// checkOverlap reports two tensors whose data ranges overlap.
func checkOverlap(ts []TensorInfo) error {
	idx := make([]int, 0, len(ts))
	for i := range ts {
		if ts[i].Size > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(ts[a].Offset, ts[b].Offset) })
	for k := 1; k < len(idx); k++ {
		a, b := &ts[idx[k-1]], &ts[idx[k]]
		if a.Offset+uint64(a.Size) > b.Offset {
			return fmt.Errorf("gguf: tensor %q data [%d, %d) overlaps tensor %q at %d", a.Name, a.Offset, a.Offset+uint64(a.Size), b.Name, b.Offset)
		}
	}
	return nil
}
