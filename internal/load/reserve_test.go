package load

import (
	"slices"
	"testing"
)

// TestAllocateReserved: load a meter sees beyond the demands comes off the limits of its node
// and of the node's ancestors, never below zero, and nil reserves nothing.
func TestAllocateReserved(t *testing.T) {
	tr := site(t, 100_000, 60_000, 4, 22_000) // e0, e2 under the grid; e1, e3 under the feeder
	idx := func(id string) int {
		i, ok := tr.Index(id)
		if !ok {
			t.Fatalf("no node %s", id)
		}
		return i
	}
	ds := []Demand{{ID: "e0", Node: "e0", MaxW: 22_000}, {ID: "e1", Node: "e1", MaxW: 22_000}, {ID: "e2", Node: "e2", MaxW: 22_000}, {ID: "e3", Node: "e3", MaxW: 22_000}}
	cases := []struct {
		name    string
		reserve map[string]int64
		want    []int64
	}{
		{"nothing reserved: everyone at max", nil, []int64{22_000, 22_000, 22_000, 22_000}},
		{"the grid meter sees 34 kW more: 66 kW for four", map[string]int64{"g": 34_000}, []int64{16_500, 16_500, 16_500, 16_500}},
		{"the feeder meter sees 50 kW more: its two share 10 kW, the grid has 50 kW", map[string]int64{"f": 50_000}, []int64{20_000, 5_000, 20_000, 5_000}},
		{"both: the grid has 100-50-30 = 20 kW left", map[string]int64{"f": 50_000, "g": 30_000}, []int64{5_000, 5_000, 5_000, 5_000}},
		{"more than the limit: nothing", map[string]int64{"g": 150_000}, []int64{0, 0, 0, 0}},
	}
	al := NewAllocator(tr)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res []int64
			if c.reserve != nil {
				res = make([]int64, tr.Len())
				for id, w := range c.reserve {
					res[idx(id)] = w
				}
			}
			var out Allocation
			if err := al.AllocateReserved(ds, res, &out); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.DemandW, c.want) {
				t.Fatalf("got %v, want %v", out.DemandW, c.want)
			}
			// Plain Allocate afterwards reserves nothing (no state carried over).
			if err := al.Allocate(ds, &out); err != nil || out.NodeW[0] != 88_000 {
				t.Fatalf("after: %v %v", out.NodeW, err)
			}
		})
	}
}
