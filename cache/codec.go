package cache

import "encoding/json"

// Codec turns values into the bytes stored in Redis and back, with the
// signatures of encoding/json: Unmarshal receives a pointer to the value.
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

// codecFor returns the encode and decode functions of a Cache[V]: raw storage
// for []byte and string values when no codec is given, the codec otherwise
// (JSON by default).
func codecFor[V any](c Codec) (encode func(V) ([]byte, error), decode func(string) (V, error)) {
	var zero V
	if c == nil {
		switch any(zero).(type) {
		case string:
			return func(v V) ([]byte, error) { return []byte(any(v).(string)), nil },
				func(s string) (V, error) { return any(s).(V), nil }
		case []byte:
			return func(v V) ([]byte, error) { return any(v).([]byte), nil },
				func(s string) (V, error) { return any([]byte(s)).(V), nil }
		}
		c = JSON{}
	}
	return func(v V) ([]byte, error) { return c.Marshal(v) },
		func(s string) (V, error) {
			var v V
			err := c.Unmarshal([]byte(s), &v)
			return v, err
		}
}
