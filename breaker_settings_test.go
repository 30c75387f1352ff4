package redisguard

import (
	"reflect"
	"testing"
	"time"

	"github.com/redisguard/redisguard/breaker"
)

// circuitSettings copies breaker.Settings field by field (the public package
// keeps its own copy for breaker.New): a field added to one side and not
// carried over would be silently dropped for every node's breaker.
func TestCircuitSettingsCarryEveryField(t *testing.T) {
	var s breaker.Settings
	sv := reflect.ValueOf(&s).Elem()
	for i := range sv.NumField() {
		f := sv.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("n")
		case reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(i + 1))
		case reflect.Int64: // time.Duration
			f.SetInt(int64(time.Duration(i+1) * time.Millisecond))
		case reflect.Float64:
			f.SetFloat(0.5)
		case reflect.Func:
			f.Set(reflect.MakeFunc(f.Type(), func([]reflect.Value) []reflect.Value {
				outs := make([]reflect.Value, f.Type().NumOut())
				for o := range outs {
					outs[o] = reflect.Zero(f.Type().Out(o))
				}
				return outs
			}))
		default:
			t.Fatalf("breaker.Settings.%s: kind %v not handled by this test", sv.Type().Field(i).Name, f.Kind())
		}
	}
	c := reflect.ValueOf(circuitSettings(s))
	if c.NumField() != sv.NumField() {
		t.Fatalf("circuit.Settings has %d fields, breaker.Settings %d", c.NumField(), sv.NumField())
	}
	for i := range sv.NumField() {
		name := sv.Type().Field(i).Name
		cf := c.FieldByName(name)
		switch {
		case !cf.IsValid():
			t.Errorf("circuit.Settings has no field %s", name)
		case cf.IsZero():
			t.Errorf("breaker.Settings.%s is not carried over", name)
		case cf.Kind() != reflect.Func && !reflect.DeepEqual(cf.Interface(), sv.Field(i).Convert(cf.Type()).Interface()):
			t.Errorf("%s: %v, want %v", name, cf.Interface(), sv.Field(i).Interface())
		}
	}
}
