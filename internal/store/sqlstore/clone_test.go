package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
)

// fill sets every field v reaches to something not zero (pointers allocated, slices and maps
// of one element), so that a copy that shares any of it is caught.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0))
	case reflect.Array:
		for i := range v.Len() {
			fill(t, v.Index(i))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k)
		fill(t, e)
		v.SetMapIndex(k, e)
	default:
		t.Fatalf("fill: %s", v.Type())
	}
}

// shared reports the path of the first pointer, slice or map that a and b share.
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return shared(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := range a.Len() {
			if p := shared(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Array:
		for i := range a.Len() {
			if p := shared(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		it := a.MapRange()
		for it.Next() {
			if p := shared(it.Value(), b.MapIndex(it.Key()), path+"[k]"); p != "" {
				return p
			}
		}
	case reflect.Struct:
		if a.Type() == timeType {
			return ""
		}
		for i := range a.NumField() {
			if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	}
	return ""
}

func checkCopy[T any](t *testing.T) {
	t.Run(reflect.TypeFor[T]().String(), func(t *testing.T) {
		var v T
		fill(t, reflect.ValueOf(&v).Elem())
		if rm, ok := any(&v).(*billing.TariffRecord); ok {
			rm.Tariff = json.RawMessage(`{"id":"x"}`)
		}
		cp, ok := deepCopy(&v)
		if !ok {
			t.Fatalf("no copy plan: every cached record must have one")
		}
		if !reflect.DeepEqual(&v, cp) {
			t.Fatalf("copy differs:\n%+v\n%+v", v, *cp)
		}
		if p := shared(reflect.ValueOf(&v).Elem(), reflect.ValueOf(cp).Elem(), "v"); p != "" {
			t.Fatalf("%s is shared with the copy", p)
		}
	})
}

// TestDeepCopyOfCachedRecords copies every record type the master-data cache holds, with every
// field set, and checks that the copy is equal and owns all it holds.
func TestDeepCopyOfCachedRecords(t *testing.T) {
	checkCopy[asset.Station](t)
	checkCopy[asset.Site](t)
	checkCopy[asset.EVSE](t)
	checkCopy[account.Account](t)
	checkCopy[account.IdToken](t)
	checkCopy[account.User](t)
	checkCopy[account.Group](t)
	checkCopy[billing.TariffRecord](t)
	type nested struct {
		M  map[string][]int
		A  [2]*int
		PP **string
	}
	checkCopy[nested](t)
}

// TestDeepCopyRefusesWhatItCannotOwn: a type with an interface, a func or a reference in an
// unexported field has no plan (its cache hits are decoded instead), and nothing is copied.
func TestDeepCopyRefusesWhatItCannotOwn(t *testing.T) {
	type withAny struct{ V any }
	type withFunc struct{ F func() }
	type withHidden struct{ p *int }
	type recursive struct{ Next *recursive }
	if _, ok := deepCopy(&withAny{V: 1}); ok {
		t.Error("interface field: copied")
	}
	if _, ok := deepCopy(&withFunc{}); ok {
		t.Error("func field: copied")
	}
	if _, ok := deepCopy(&withHidden{}); ok {
		t.Error("unexported pointer: copied")
	}
	if _, ok := deepCopy(&recursive{}); ok {
		t.Error("recursive type: copied")
	}
	type hiddenPlain struct{ n int }
	if cp, ok := deepCopy(&hiddenPlain{n: 3}); !ok || cp.n != 3 {
		t.Errorf("unexported plain field: %+v %v", cp, ok)
	}
}
