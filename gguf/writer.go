package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Writer builds a GGUF version 3 file: metadata in the order first Set, tensors in the order
// added, each tensor's data aligned to general.alignment (32 unless that key is set).
// The zero Writer is not ready for use; call NewWriter.
type Writer struct {
	kvs     []KV
	kvIndex map[string]int
	tensors []wtensor
	tIndex  map[string]int
}

type wtensor struct {
	info TensorInfo
	data []byte
	fill func(dst []byte) error
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{kvIndex: map[string]int{}, tIndex: map[string]int{}}
}

// Set sets key to v. Setting a key again replaces its value and keeps its first position.
func (w *Writer) Set(key string, v Value) {
	if i, ok := w.kvIndex[key]; ok {
		w.kvs[i].Value = v
		return
	}
	w.kvIndex[key] = len(w.kvs)
	w.kvs = append(w.kvs, KV{key, v})
}

// NewWriterFrom returns a writer holding f's metadata (in file order) and tensors (their data
// still in f's mapping, so f must stay open until WriteTo): the starting point of a rewrite.
// Errors are the writer's own checks of f's tensors.
func NewWriterFrom(f *File) (*Writer, error) {
	w := NewWriter()
	for _, kv := range f.KVs {
		w.Set(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if err := w.AddTensor(t.Name, t.Type, t.Dims, f.TensorData(t)); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// AddTensor adds a tensor of type typ with dims in ggml order (ne0 first). data must hold
// exactly the tensor's bytes (RowSize(ne0) × ne1 × …); it is kept, not copied, until WriteTo.
func (w *Writer) AddTensor(name string, typ Type, dims []uint64, data []byte) error {
	t, err := w.add(name, typ, dims)
	if err != nil {
		return err
	}
	if int64(len(data)) != t.info.Size {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, want %d for %v %v", name, len(data), t.info.Size, typ, dims)
	}
	t.data = data
	return nil
}

// AddTensorFunc adds a tensor like AddTensor whose bytes are produced during WriteTo: fill
// receives a zeroed buffer of the tensor's size. Only one such buffer is live at a time, so
// a model far larger than memory can be written tensor by tensor.
func (w *Writer) AddTensorFunc(name string, typ Type, dims []uint64, fill func(dst []byte) error) error {
	t, err := w.add(name, typ, dims)
	if err != nil {
		return err
	}
	t.fill = fill
	return nil
}

func (w *Writer) add(name string, typ Type, dims []uint64) (*wtensor, error) {
	if name == "" {
		return nil, fmt.Errorf("gguf: tensor with empty name")
	}
	if _, dup := w.tIndex[name]; dup {
		return nil, fmt.Errorf("gguf: duplicate tensor %q", name)
	}
	if len(dims) > MaxDims {
		return nil, fmt.Errorf("gguf: tensor %q: %d dimensions, at most %d", name, len(dims), MaxDims)
	}
	info := TensorInfo{Name: name, Type: typ, Dims: append([]uint64(nil), dims...)}
	// Reuse the reader's checks so that whatever is written can be read back.
	var buf []byte
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(dims)))
	for _, d := range dims {
		buf = binary.LittleEndian.AppendUint64(buf, d)
	}
	buf = binary.LittleEndian.AppendUint32(buf, uint32(typ))
	buf = binary.LittleEndian.AppendUint64(buf, 0)
	var probe TensorInfo
	if err := (&reader{b: buf}).tensorInfo(&probe); err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	info.Size = probe.Size
	w.tIndex[name] = len(w.tensors)
	w.tensors = append(w.tensors, wtensor{info: info})
	return &w.tensors[len(w.tensors)-1], nil
}

// alignment returns general.alignment if set (checked as the reader checks it), else 32.
func (w *Writer) alignment() (uint64, error) {
	i, ok := w.kvIndex["general.alignment"]
	if !ok {
		return DefaultAlignment, nil
	}
	v := w.kvs[i].Value
	a, _ := v.AsUint()
	if v.Type() != Uint32 || a == 0 || a&(a-1) != 0 {
		return 0, fmt.Errorf("gguf: key \"general.alignment\": %v of type %v is not a uint32 power of two", v, v.Type())
	}
	return a, nil
}

// Tensors returns the infos of the tensors added so far, with the offsets WriteTo will use.
func (w *Writer) Tensors() ([]TensorInfo, error) {
	align, err := w.alignment()
	if err != nil {
		return nil, err
	}
	out := make([]TensorInfo, len(w.tensors))
	var off uint64
	for i := range w.tensors {
		out[i] = w.tensors[i].info
		out[i].Dims = append([]uint64(nil), out[i].Dims...)
		out[i].Offset = off
		off = alignUp(off+uint64(out[i].Size), align)
	}
	return out, nil
}

// WriteTo writes the file to out and returns the bytes written. Errors name the key or
// tensor at fault (an ArrayValue with a mistyped element, a fill function's error).
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	infos, err := w.Tensors()
	if err != nil {
		return 0, err
	}
	align, _ := w.alignment()
	cw := &countWriter{w: out}
	bw := bufio.NewWriterSize(cw, 1<<16)
	var hdr []byte
	hdr = append(hdr, Magic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, 3)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(infos)))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		hdr = appendString(hdr, kv.Key)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(kv.Value.Type()))
		if hdr, err = appendValue(hdr, kv.Value); err != nil {
			return 0, fmt.Errorf("gguf: key %q: %w", kv.Key, err)
		}
		if len(hdr) > 1<<20 { // flush big vocabularies as we go
			if _, err := bw.Write(hdr); err != nil {
				return cw.n, err
			}
			hdr = hdr[:0]
		}
	}
	for _, t := range infos {
		hdr = appendString(hdr, t.Name)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(t.Dims)))
		for _, d := range t.Dims {
			hdr = binary.LittleEndian.AppendUint64(hdr, d)
		}
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(t.Type))
		hdr = binary.LittleEndian.AppendUint64(hdr, t.Offset)
	}
	if _, err := bw.Write(hdr); err != nil {
		return cw.n, err
	}
	dataStart := uint64(cw.n) + uint64(bw.Buffered())
	if err := writeZeros(bw, alignUp(dataStart, align)-dataStart); err != nil {
		return cw.n, err
	}
	var pos uint64
	var scratch []byte
	for i, t := range infos {
		if err := writeZeros(bw, t.Offset-pos); err != nil {
			return cw.n, err
		}
		data := w.tensors[i].data
		if fill := w.tensors[i].fill; fill != nil {
			if int64(cap(scratch)) < t.Size {
				scratch = nil // let the previous buffer go before the next one is made
				scratch = make([]byte, t.Size)
			}
			data = scratch[:t.Size]
			clear(data)
			if err := fill(data); err != nil {
				return cw.n, fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
			}
		}
		if _, err := bw.Write(data); err != nil {
			return cw.n, err
		}
		pos = t.Offset + uint64(t.Size)
	}
	if len(infos) > 0 {
		// Pad the last tensor too, as ggml's writer does.
		if err := writeZeros(bw, alignUp(pos, align)-pos); err != nil {
			return cw.n, err
		}
	}
	err = bw.Flush()
	return cw.n, err
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue appends the encoding of v without its type id.
func appendValue(b []byte, v Value) ([]byte, error) {
	switch v.typ {
	case String:
		return appendString(b, v.str), nil
	case Array:
		a := v.arr
		if a == nil {
			a = &array{elem: Uint8}
		}
		if a.err != nil {
			return b, a.err
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(a.elem))
		b = binary.LittleEndian.AppendUint64(b, uint64(a.n))
		switch a.elem {
		case String:
			for _, s := range a.strs {
				b = appendString(b, s)
			}
		case Array:
			if a.offs != nil { // parsed: raw is already the elements' encoding
				b = append(b, a.raw...)
				break
			}
			for i, e := range a.vals {
				var err error
				if b, err = appendValue(b, e); err != nil {
					return b, fmt.Errorf("array element %d: %w", i, err)
				}
			}
		default:
			b = append(b, a.raw...)
		}
		return b, nil
	}
	if !v.typ.Valid() {
		return b, fmt.Errorf("unknown value type %d", uint32(v.typ))
	}
	return appendScalar(b, v), nil
}

var zeros [4096]byte

func writeZeros(w io.Writer, n uint64) error {
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
