package charging

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestRanges(t *testing.T) {
	var r Ranges
	for _, n := range []int{0, 1, 2, 5, 4, 3, 9, 7} {
		if !r.Add(n) {
			t.Fatalf("%d reported as seen", n)
		}
	}
	if r.Add(4) || r.Add(0) || r.Add(9) {
		t.Fatal("repeat reported as new")
	}
	want := Ranges{{0, 5}, {7, 7}, {9, 9}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("ranges = %v, want %v", r, want)
	}
	r.Add(8)
	if !reflect.DeepEqual(r, Ranges{{0, 5}, {7, 9}}) {
		t.Fatalf("join: %v", r)
	}
}

// TestRangesProperty: for random insert orders, Add agrees with a plain set and the pairs stay
// sorted, disjoint and non-adjacent.
func TestRangesProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var r Ranges
		set := map[int]bool{}
		for i := 0; i < 60; i++ {
			n := rng.IntN(80)
			if got := r.Add(n); got == set[n] {
				t.Fatalf("Add(%d) = %v with set %v", n, got, set[n])
			}
			set[n] = true
		}
		for n := 0; n < 80; n++ {
			if r.Has(n) != set[n] {
				t.Fatalf("Has(%d) = %v", n, r.Has(n))
			}
		}
		for i := 1; i < len(r); i++ {
			if r[i][0] <= r[i-1][1]+1 {
				t.Fatalf("not normalised: %v", r)
			}
		}
	}
}
