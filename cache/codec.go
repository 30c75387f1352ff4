package cache

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"unsafe"
)

// Codec turns values into the bytes stored in Redis and back, with the
// signatures and rules of encoding/json: Unmarshal receives a pointer to the
// value, and it must not modify data (it may be the memory of an immutable
// string) nor keep it after returning unless it copies it.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default codec.
type JSON struct{}

// Marshal encodes v as JSON.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON into the value v points to.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// codec is the encoding of a Cache[V]: raw storage for []byte and string
// values when no Codec is given, the Codec otherwise (JSON by default).
type codec[V any] struct {
	c   Codec
	raw rawKind
}

type rawKind uint8

const (
	rawNone rawKind = iota
	rawString
	rawBytes
)

func codecFor[V any](c Codec) codec[V] {
	if c != nil {
		return codec[V]{c: c}
	}
	var zero V
	switch any(zero).(type) {
	case string:
		return codec[V]{raw: rawString}
	case []byte:
		return codec[V]{raw: rawBytes}
	}
	return codec[V]{c: JSON{}}
}

// encode returns the bytes of v. A panicking codec is an error wrapping
// ErrCodecPanic.
func (k codec[V]) encode(v V) (data []byte, err error) {
	defer recoverAs(ErrCodecPanic, &err)
	switch k.raw {
	case rawString:
		return []byte(*(*string)(unsafe.Pointer(&v))), nil
	case rawBytes:
		return *(*[]byte)(unsafe.Pointer(&v)), nil
	}
	return k.c.Marshal(v)
}

// decode returns the value s holds. It does not copy s for the codec, so a
// hit costs no more than the GET and the codec's own work. A panicking codec
// is an error wrapping ErrCodecPanic.
func (k codec[V]) decode(s string) (v V, err error) {
	switch k.raw {
	case rawString:
		return *(*V)(unsafe.Pointer(&s)), nil
	case rawBytes:
		b := []byte(s) // the caller owns the value and may change it
		return *(*V)(unsafe.Pointer(&b)), nil
	}
	defer recoverAs(ErrCodecPanic, &err)
	err = k.c.Unmarshal(unsafe.Slice(unsafe.StringData(s), len(s)), &v)
	return v, err
}

// recoverAs, deferred, turns a panic into an error wrapping sentinel, with the
// panic value and stack.
func recoverAs(sentinel error, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: %v\n%s", sentinel, p, debug.Stack())
	}
}
