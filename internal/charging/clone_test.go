package charging

import (
	"reflect"
	"testing"
)

// TestSessionCloneSharesNothing fills every field of a session, pointers and slices included,
// and checks the clone is equal but owns all of it: a field added later that Clone does not
// copy fails here.
func TestSessionCloneSharesNothing(t *testing.T) {
	var s Session
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Map:
			t.Fatalf("field %s is a map: teach Clone to copy it", v.Type().Field(i).Name)
		}
	}
	s.ID, s.SeqSeen = "ses_1", Ranges{{1, 3}}
	c := s.Clone()
	if !reflect.DeepEqual(&s, c) {
		t.Fatalf("clone differs: %+v", c)
	}
	cv := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f, g := v.Field(i), cv.Field(i)
		if (f.Kind() == reflect.Pointer || f.Kind() == reflect.Slice) && f.Pointer() == g.Pointer() {
			t.Errorf("field %s is shared with the clone", v.Type().Field(i).Name)
		}
	}
}
