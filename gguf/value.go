package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is the type id of a GGUF metadata value (enum gguf_type in ggml/include/gguf.h).
type ValueType uint32

// GGUF metadata value types.
const (
	Uint8   ValueType = 0
	Int8    ValueType = 1
	Uint16  ValueType = 2
	Int16   ValueType = 3
	Uint32  ValueType = 4
	Int32   ValueType = 5
	Float32 ValueType = 6
	Bool    ValueType = 7
	String  ValueType = 8
	Array   ValueType = 9
	Uint64  ValueType = 10
	Int64   ValueType = 11
	Float64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the lower-case name of t ("uint32"), or "valuetype(N)" for an unknown id.
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(t))
}

// Valid reports whether t is one of the 13 GGUF value types.
func (t ValueType) Valid() bool { return t <= Float64 }

// fixedSize is the encoded size in bytes of a scalar of type t; 0 for string, array and unknown types.
func (t ValueType) fixedSize() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64:
		return 8
	}
	return 0
}

// minSize is the smallest possible encoding of a value of type t: a string is at least its
// 8-byte length, an array its 4-byte element type and 8-byte count.
func (t ValueType) minSize() int {
	switch t {
	case String:
		return 8
	case Array:
		return 12
	}
	return t.fixedSize()
}

func (t ValueType) signed() bool { return t == Int8 || t == Int16 || t == Int32 || t == Int64 }

func (t ValueType) integer() bool {
	switch t {
	case Uint8, Int8, Uint16, Int16, Uint32, Int32, Uint64, Int64:
		return true
	}
	return false
}

// Value is one GGUF metadata value: a scalar, a string, or an array (of scalars, of strings,
// or of arrays). The zero Value has type Uint8 and value 0. Values are immutable and cheap to
// copy; arrays of strings are held as one []string sharing a single backing allocation.
type Value struct {
	typ ValueType
	num uint64 // integers (signed ones sign-extended), float bits (float32 in the low half), bool 0/1
	str string
	arr *array
}

type array struct {
	elem ValueType
	n    int
	raw  []byte   // fixed-size elements, little-endian, n*elem.fixedSize() bytes; or, with offs, parsed nested arrays
	strs []string // elem == String
	vals []Value  // elem == Array, built by ArrayValue
	offs []uint32 // elem == Array, parsed: where element i starts in raw
	err  error    // set by ArrayValue when an element does not have type elem
}

// Type returns the value's type id.
func (v Value) Type() ValueType { return v.typ }

// ElemType returns the element type of an array value (false if v is not an array).
func (v Value) ElemType() (ValueType, bool) {
	if v.typ != Array || v.arr == nil {
		return 0, false
	}
	return v.arr.elem, true
}

// Len returns the number of elements of an array value, and 0 for any other value.
func (v Value) Len() int {
	if v.typ != Array || v.arr == nil {
		return 0
	}
	return v.arr.n
}

// Index returns element i of an array value. It panics if v is not an array or i is out of
// range, like a slice index.
func (v Value) Index(i int) Value {
	if v.typ != Array || v.arr == nil {
		panic("gguf: Index of non-array value")
	}
	a := v.arr
	if i < 0 || i >= a.n {
		panic(fmt.Sprintf("gguf: index %d out of range [0,%d)", i, a.n))
	}
	switch a.elem {
	case String:
		return StringValue(a.strs[i])
	case Array:
		if a.offs == nil {
			return a.vals[i]
		}
		// The bytes were checked by the reader, so this cannot fail.
		r := &reader{b: a.raw, pos: int(a.offs[i])}
		v, _ := r.array(0)
		return v
	}
	sz := a.elem.fixedSize()
	return scalarFromBytes(a.elem, a.raw[i*sz:])
}

// scalarFromBytes decodes one little-endian scalar of fixed-size type t from b.
func scalarFromBytes(t ValueType, b []byte) Value {
	v := Value{typ: t}
	switch t {
	case Uint8, Bool:
		v.num = uint64(b[0])
	case Int8:
		v.num = uint64(int64(int8(b[0])))
	case Uint16:
		v.num = uint64(binary.LittleEndian.Uint16(b))
	case Int16:
		v.num = uint64(int64(int16(binary.LittleEndian.Uint16(b))))
	case Uint32, Float32:
		v.num = uint64(binary.LittleEndian.Uint32(b))
	case Int32:
		v.num = uint64(int64(int32(binary.LittleEndian.Uint32(b))))
	case Uint64, Int64, Float64:
		v.num = binary.LittleEndian.Uint64(b)
	}
	if t == Bool && v.num != 0 {
		v.num = 1
	}
	return v
}

// AsUint returns an integer value as uint64; false for non-integers and negative values.
func (v Value) AsUint() (uint64, bool) {
	if !v.typ.integer() || (v.typ.signed() && int64(v.num) < 0) {
		return 0, false
	}
	return v.num, true
}

// AsInt returns an integer value as int64; false for non-integers and uint64 values above MaxInt64.
func (v Value) AsInt() (int64, bool) {
	if !v.typ.integer() || (v.typ == Uint64 && v.num > math.MaxInt64) {
		return 0, false
	}
	return int64(v.num), true
}

// AsFloat returns a float32, float64 or integer value as float64.
func (v Value) AsFloat() (float64, bool) {
	switch {
	case v.typ == Float32:
		return float64(math.Float32frombits(uint32(v.num))), true
	case v.typ == Float64:
		return math.Float64frombits(v.num), true
	case v.typ == Uint64:
		return float64(v.num), true
	case v.typ.integer():
		return float64(int64(v.num)), true
	}
	return 0, false
}

// AsBool returns a bool value.
func (v Value) AsBool() (bool, bool) {
	if v.typ != Bool {
		return false, false
	}
	return v.num != 0, true
}

// AsString returns a string value.
func (v Value) AsString() (string, bool) {
	if v.typ != String {
		return "", false
	}
	return v.str, true
}

// AsStrings returns an array of strings. The slice is shared: do not modify it.
func (v Value) AsStrings() ([]string, bool) {
	if v.typ != Array || v.arr == nil || v.arr.elem != String {
		return nil, false
	}
	return v.arr.strs, true
}

// AsFloat32s returns an array of float32, or of float64 or integers converted to float32.
func (v Value) AsFloat32s() ([]float32, bool) {
	if v.typ != Array || v.arr == nil {
		return nil, false
	}
	a := v.arr
	if a.elem != Float32 && a.elem != Float64 && !a.elem.integer() {
		return nil, false
	}
	out := make([]float32, a.n)
	for i := range out {
		f, _ := v.Index(i).AsFloat()
		out[i] = float32(f)
	}
	return out, true
}

// AsInt32s returns an array of integers converted to int32; false if any element does not fit.
func (v Value) AsInt32s() ([]int32, bool) {
	if v.typ != Array || v.arr == nil || !v.arr.elem.integer() {
		return nil, false
	}
	out := make([]int32, v.arr.n)
	for i := range out {
		x, ok := v.Index(i).AsInt()
		if !ok || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

// String formats v for people: numbers in decimal, strings quoted, long arrays elided
// after 8 elements ("[1, 2, 3, … (150000 total)]").
func (v Value) String() string {
	switch v.typ {
	case String:
		return strconv.Quote(v.str)
	case Bool:
		return strconv.FormatBool(v.num != 0)
	case Float32:
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(v.num))), 'g', -1, 32)
	case Float64:
		return strconv.FormatFloat(math.Float64frombits(v.num), 'g', -1, 64)
	case Uint8, Uint16, Uint32, Uint64:
		return strconv.FormatUint(v.num, 10)
	case Int8, Int16, Int32, Int64:
		return strconv.FormatInt(int64(v.num), 10)
	case Array:
		var b strings.Builder
		b.WriteByte('[')
		n := v.Len()
		for i := 0; i < n && i < 8; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.Index(i).String())
		}
		if n > 8 {
			fmt.Fprintf(&b, ", … (%d total)", n)
		}
		b.WriteByte(']')
		return b.String()
	}
	return fmt.Sprintf("<%v>", v.typ)
}

// Constructors.

// Uint8Value returns a uint8 value.
func Uint8Value(x uint8) Value { return Value{typ: Uint8, num: uint64(x)} }

// Int8Value returns an int8 value.
func Int8Value(x int8) Value { return Value{typ: Int8, num: uint64(int64(x))} }

// Uint16Value returns a uint16 value.
func Uint16Value(x uint16) Value { return Value{typ: Uint16, num: uint64(x)} }

// Int16Value returns an int16 value.
func Int16Value(x int16) Value { return Value{typ: Int16, num: uint64(int64(x))} }

// Uint32Value returns a uint32 value.
func Uint32Value(x uint32) Value { return Value{typ: Uint32, num: uint64(x)} }

// Int32Value returns an int32 value.
func Int32Value(x int32) Value { return Value{typ: Int32, num: uint64(int64(x))} }

// Uint64Value returns a uint64 value.
func Uint64Value(x uint64) Value { return Value{typ: Uint64, num: x} }

// Int64Value returns an int64 value.
func Int64Value(x int64) Value { return Value{typ: Int64, num: uint64(x)} }

// Float32Value returns a float32 value.
func Float32Value(x float32) Value { return Value{typ: Float32, num: uint64(math.Float32bits(x))} }

// Float64Value returns a float64 value.
func Float64Value(x float64) Value { return Value{typ: Float64, num: math.Float64bits(x)} }

// BoolValue returns a bool value.
func BoolValue(x bool) Value {
	v := Value{typ: Bool}
	if x {
		v.num = 1
	}
	return v
}

// StringValue returns a string value.
func StringValue(s string) Value { return Value{typ: String, str: s} }

// StringsValue returns an array of strings. The slice is kept, not copied.
func StringsValue(s []string) Value {
	return Value{typ: Array, arr: &array{elem: String, n: len(s), strs: s}}
}

// Float32sValue returns an array of float32.
func Float32sValue(x []float32) Value {
	raw := make([]byte, 4*len(x))
	for i, f := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return Value{typ: Array, arr: &array{elem: Float32, n: len(x), raw: raw}}
}

// Int32sValue returns an array of int32.
func Int32sValue(x []int32) Value {
	raw := make([]byte, 4*len(x))
	for i, n := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(n))
	}
	return Value{typ: Array, arr: &array{elem: Int32, n: len(x), raw: raw}}
}

// ArrayValue returns an array whose elements all have type elem (which may be Array for
// nested arrays). An element of another type makes Writer.WriteTo fail.
func ArrayValue(elem ValueType, vals []Value) Value {
	a := &array{elem: elem, n: len(vals)}
	switch {
	case !elem.Valid():
		a.err = fmt.Errorf("gguf: array of unknown value type %d", uint32(elem))
	case elem == String:
		a.strs = make([]string, len(vals))
	case elem == Array:
		a.vals = append([]Value(nil), vals...)
	default:
		a.raw = make([]byte, 0, len(vals)*elem.fixedSize())
	}
	for i, v := range vals {
		if a.err != nil {
			break
		}
		if v.typ != elem {
			a.err = fmt.Errorf("gguf: array of %v: element %d has type %v", elem, i, v.typ)
			break
		}
		switch elem {
		case String:
			a.strs[i] = v.str
		case Array:
		default:
			a.raw = appendScalar(a.raw, v)
		}
	}
	return Value{typ: Array, arr: a}
}

// appendScalar appends the little-endian encoding of fixed-size scalar v.
func appendScalar(b []byte, v Value) []byte {
	switch v.typ.fixedSize() {
	case 1:
		return append(b, byte(v.num))
	case 2:
		return binary.LittleEndian.AppendUint16(b, uint16(v.num))
	case 4:
		return binary.LittleEndian.AppendUint32(b, uint32(v.num))
	case 8:
		return binary.LittleEndian.AppendUint64(b, v.num)
	}
	return b
}
