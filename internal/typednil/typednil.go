// Package typednil tells a nil client apart from a working one when it
// arrives inside an interface: a (*redis.Client)(nil) passed as a
// redis.UniversalClient is not == nil, yet every method call on it panics.
// The packages that accept a client check it at construction with Is, so
// that the mistake is an error there instead of a panic later on another
// goroutine.
package typednil

import "reflect"

// Is reports whether v is nil, or an interface value holding a nil pointer,
// map, slice, channel or function.
func Is(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	default:
		return false
	}
}
