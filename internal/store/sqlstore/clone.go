package sqlstore

import (
	"reflect"
	"sync"
	"time"
)

// The master-data cache hands every caller its own copy of a cached record: callers may change
// what they get (an update starts from a Get), and the cache must not see it. Decoding the
// record's JSON for each hit did that at a few microseconds a hit, a dozen hits a session start,
// on the single writer. A deep copy does it for a fraction: an assignment, then a fresh copy of
// every pointer, slice and map the value reaches.
//
// The copy plan of a type is worked out once. A type that holds anything a plain copy cannot
// own (an interface, a channel, a func, a reference in an unexported field) has no plan, and its
// hits are decoded from JSON as before: the copier never shares by mistake.

// fixer replaces, in an addressable value that was just assigned from the original, every
// reference it holds with a copy of its own. A nil fixer means the type holds no references.
type fixer func(v reflect.Value)

type plan struct {
	fix fixer
	ok  bool
}

var plans sync.Map // reflect.Type → plan

// deepCopy returns a copy of *v that shares nothing mutable with it; ok is false for a type
// without a plan (the caller decodes instead).
func deepCopy[T any](v *T) (*T, bool) {
	t := reflect.TypeFor[T]()
	p, found := plans.Load(t)
	if !found {
		f, ok := planFor(t, map[reflect.Type]bool{})
		p, _ = plans.LoadOrStore(t, plan{fix: f, ok: ok})
	}
	pl := p.(plan)
	if !pl.ok {
		return nil, false
	}
	cp := new(T)
	*cp = *v
	if pl.fix != nil {
		pl.fix(reflect.ValueOf(cp).Elem())
	}
	return cp, true
}

var timeType = reflect.TypeFor[time.Time]()

// planFor works out how to copy values of type t; busy holds the types being worked out, so a
// recursive type (which the cached records never are) is refused instead of looping.
func planFor(t reflect.Type, busy map[reflect.Type]bool) (fixer, bool) {
	if busy[t] {
		return nil, false
	}
	busy[t] = true
	defer delete(busy, t)
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return nil, true
	case reflect.Struct:
		if t == timeType {
			return nil, true // its *Location is shared by design: locations never change
		}
		type field struct {
			i   int
			fix fixer
		}
		var fields []field
		for i := range t.NumField() {
			f, ok := planFor(t.Field(i).Type, busy)
			if !ok {
				return nil, false
			}
			if f == nil {
				continue
			}
			if !t.Field(i).IsExported() {
				return nil, false // reflection cannot replace it
			}
			fields = append(fields, field{i, f})
		}
		if len(fields) == 0 {
			return nil, true
		}
		return func(v reflect.Value) {
			for _, f := range fields {
				f.fix(v.Field(f.i))
			}
		}, true
	case reflect.Array:
		f, ok := planFor(t.Elem(), busy)
		if !ok || f == nil {
			return nil, ok
		}
		return func(v reflect.Value) {
			for i := range v.Len() {
				f(v.Index(i))
			}
		}, true
	case reflect.Pointer:
		f, ok := planFor(t.Elem(), busy)
		if !ok {
			return nil, false
		}
		return func(v reflect.Value) {
			if v.IsNil() {
				return
			}
			n := reflect.New(t.Elem())
			n.Elem().Set(v.Elem())
			if f != nil {
				f(n.Elem())
			}
			v.Set(n)
		}, true
	case reflect.Slice:
		f, ok := planFor(t.Elem(), busy)
		if !ok {
			return nil, false
		}
		return func(v reflect.Value) {
			if v.IsNil() {
				return
			}
			n := reflect.MakeSlice(t, v.Len(), v.Len())
			reflect.Copy(n, v)
			if f != nil {
				for i := range n.Len() {
					f(n.Index(i))
				}
			}
			v.Set(n)
		}, true
	case reflect.Map:
		fk, ok := planFor(t.Key(), busy)
		if !ok || fk != nil {
			return nil, false // keys with references: none of ours
		}
		f, ok := planFor(t.Elem(), busy)
		if !ok {
			return nil, false
		}
		return func(v reflect.Value) {
			if v.IsNil() {
				return
			}
			n := reflect.MakeMapWithSize(t, v.Len())
			it := v.MapRange()
			for it.Next() {
				e := reflect.New(t.Elem()).Elem()
				e.Set(it.Value())
				if f != nil {
					f(e)
				}
				n.SetMapIndex(it.Key(), e)
			}
			v.Set(n)
		}, true
	default: // interfaces, channels, funcs, unsafe pointers
		return nil, false
	}
}
