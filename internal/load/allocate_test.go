package load

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func site(t testing.TB, gridW, feederW int64, evses int, evseW int64) *Tree {
	t.Helper()
	nodes := []Node{{ID: "g", Kind: KindGrid, LimitW: gridW}, {ID: "f", Parent: "g", Kind: KindFeeder, LimitW: feederW}}
	for i := range evses {
		parent := "g"
		if i%2 == 1 {
			parent = "f"
		}
		nodes = append(nodes, Node{ID: fmt.Sprintf("e%d", i), Parent: parent, Kind: KindEVSE, LimitW: evseW})
	}
	tr, err := Build(nodes)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestAllocateTable(t *testing.T) {
	d := func(node string, maxW, minW int64, prio int, weight int64) Demand {
		return Demand{ID: node, Node: node, MaxW: maxW, MinW: minW, Priority: prio, Weight: weight}
	}
	cases := []struct {
		name           string
		gridW, feederW int64
		evses          int
		evseW          int64
		demands        []Demand
		want           []int64
	}{
		{"10 × 22 kW under 100 kW: 10 kW each", 100_000, NoLimit, 10, 22_000,
			rep(10, func(i int) Demand { return d(fmt.Sprint("e", i), 22_000, 4_140, 0, 1) }), rep64(10, 10_000)},
		{"5 left: 20 kW each", 100_000, NoLimit, 10, 22_000,
			rep(5, func(i int) Demand { return d(fmt.Sprint("e", i), 22_000, 4_140, 0, 1) }), rep64(5, 20_000)},
		{"plenty: everyone at max", 300_000, NoLimit, 4, 22_000,
			rep(4, func(i int) Demand { return d(fmt.Sprint("e", i), 11_000, 0, 0, 1) }), rep64(4, 11_000)},
		{"EVSE rating caps the vehicle", 300_000, NoLimit, 2, 7_400,
			[]Demand{d("e0", 22_000, 0, 0, 1), d("e1", 22_000, 0, 0, 1)}, []int64{7_400, 7_400}},
		// e1, e3 on a 12 kW feeder get 6 kW; e0, e2 share the rest of 40 kW: 14 kW.
		{"feeder binds its half, the rest goes to the others", 40_000, 12_000, 4, 22_000,
			rep(4, func(i int) Demand { return d(fmt.Sprint("e", i), 22_000, 0, 0, 1) }), []int64{14_000, 6_000, 14_000, 6_000}},
		{"a small vehicle leaves power to the others", 30_000, NoLimit, 3, 22_000,
			[]Demand{d("e0", 3_000, 0, 0, 1), d("e1", 22_000, 0, 0, 1), d("e2", 22_000, 0, 0, 1)}, []int64{3_000, 13_500, 13_500}},
		{"weights (priority tokens) 2:1", 30_000, NoLimit, 2, 50_000,
			[]Demand{d("e0", 50_000, 0, 0, 2), d("e1", 50_000, 0, 0, 1)}, []int64{20_000, 10_000}},
		// 10 kW grid, minimum 4 140 W each: only two fit; priority 2 first, then the first given.
		{"minimums by priority: the lowest get 0", 10_000, NoLimit, 4, 22_000,
			[]Demand{d("e0", 22_000, 4_140, 0, 1), d("e1", 22_000, 4_140, 1, 1), d("e2", 22_000, 4_140, 0, 1), d("e3", 22_000, 4_140, 2, 1)},
			[]int64{0, 5_000, 0, 5_000}},
		{"a minimum above the max takes the max or nothing", 10_000, NoLimit, 2, 22_000,
			[]Demand{d("e0", 3_000, 4_140, 0, 1), d("e1", 22_000, 0, 0, 1)}, []int64{3_000, 7_000}},
		{"leftover watts go in tree order", 10_001, NoLimit, 3, 22_000,
			rep(3, func(i int) Demand { return d(fmt.Sprint("e", i), 22_000, 0, 0, 1) }), []int64{3_334, 3_334, 3_333}},
		{"minimums held above the level", 10_000, NoLimit, 3, 22_000,
			[]Demand{d("e0", 22_000, 6_000, 0, 1), d("e1", 22_000, 0, 0, 1), d("e2", 22_000, 0, 0, 1)}, []int64{6_000, 2_000, 2_000}},
	}
	for _, c := range cases {
		tr := site(t, c.gridW, c.feederW, c.evses, c.evseW)
		got, err := Allocate(tr, c.demands)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(got.DemandW, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got.DemandW, c.want)
		}
		checkAllocation(t, c.name, tr, c.demands, got)
	}
}

func TestAllocateErrors(t *testing.T) {
	tr := site(t, 10_000, NoLimit, 1, 22_000)
	for _, ds := range [][]Demand{
		{{ID: "x", Node: "nope", MaxW: 1}},
		{{ID: "x", Node: "e0", MaxW: -1}},
		{{ID: "x", Node: "e0", MaxW: 1, Weight: MaxWeight + 1}},
		{{ID: "x", Node: "e0", MaxW: MaxPowerW + 1}},
	} {
		if _, err := Allocate(tr, ds); err == nil {
			t.Errorf("%+v: no error", ds)
		}
	}
}

func rep(n int, f func(int) Demand) []Demand {
	out := make([]Demand, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func rep64(n int, v int64) []int64 { return slices.Repeat([]int64{v}, n) }

// checkAllocation asserts the allocator's guarantees on one result.
func checkAllocation(t testing.TB, name string, tr *Tree, ds []Demand, a *Allocation) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	sum := make([]int64, tr.Len())
	leaf := make([]int, len(ds))
	for i, d := range ds {
		leaf[i], _ = tr.Index(d.Node)
		got := a.DemandW[i]
		if got < 0 || got > d.MaxW {
			fail("demand %d got %d, max %d", i, got, d.MaxW)
		}
		if a.Admitted[i] && got < min(d.MinW, d.MaxW) {
			fail("admitted demand %d got %d below its minimum %d", i, got, d.MinW)
		}
		if !a.Admitted[i] && got != 0 {
			fail("refused demand %d got %d", i, got)
		}
		for v := leaf[i]; v >= 0; v = tr.Parent(v) {
			sum[v] += got
		}
	}
	saturated := func(v int) bool { l := tr.Node(v).LimitW; return l != NoLimit && sum[v] == l }
	for v := range tr.Len() {
		if sum[v] != a.NodeW[v] {
			fail("node %s NodeW %d, demands sum to %d", tr.Node(v).ID, a.NodeW[v], sum[v])
		}
		if l := tr.Node(v).LimitW; l != NoLimit && sum[v] > l {
			fail("node %s at %d above its limit %d", tr.Node(v).ID, sum[v], l)
		}
	}
	if l := tr.Node(0).LimitW; l != NoLimit && sum[0] > l {
		fail("root above its limit")
	}
	for i, d := range ds {
		got := a.DemandW[i]
		if got == d.MaxW {
			continue
		}
		if !a.Admitted[i] {
			// Refused: some node on its path had less room than its minimum after the
			// minimums of the demands of higher or equal priority.
			ok := false
			for v := leaf[i]; v >= 0 && !ok; v = tr.Parent(v) {
				if l := tr.Node(v).LimitW; l != NoLimit && l-minsAbove(tr, ds, a, leaf, v, d.Priority) < min(d.MinW, d.MaxW) {
					ok = true
				}
			}
			if !ok {
				fail("demand %d refused though its minimum fits", i)
			}
			continue
		}
		// Unmet: work-conserving and max-min fair: a saturated node on its path under which no
		// demand has a higher level (W per weight), unless held there by its own minimum.
		wi := max(d.Weight, 1)
		ok := false
		for v := leaf[i]; v >= 0 && !ok; v = tr.Parent(v) {
			if !saturated(v) {
				continue
			}
			ok = true
			for j, dj := range ds {
				if !inSubtree(tr, leaf[j], v) || a.DemandW[j] <= min(dj.MinW, dj.MaxW) {
					continue
				}
				wj := max(dj.Weight, 1)
				if a.DemandW[j]*wi > (got+wi)*wj {
					ok = false
					break
				}
			}
		}
		if !ok {
			fail("demand %d at %d of %d: no saturated node with a fair share on its path", i, got, d.MaxW)
		}
	}
}

// minsAbove sums the minimums of admitted demands under v with priority ≥ prio.
func minsAbove(tr *Tree, ds []Demand, a *Allocation, leaf []int, v, prio int) int64 {
	var s int64
	for j, d := range ds {
		if a.Admitted[j] && d.Priority >= prio && inSubtree(tr, leaf[j], v) {
			s += min(d.MinW, d.MaxW)
		}
	}
	return s
}

func inSubtree(tr *Tree, i, v int) bool {
	for ; i >= 0; i = tr.Parent(i) {
		if i == v {
			return true
		}
	}
	return false
}

// TestAllocateProperties: thousands of random trees and demands, every guarantee checked.
func TestAllocateProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 6))
	n := 3000
	if testing.Short() {
		n = 300
	}
	var alloc Allocation
	for iter := range n {
		tr, evses := randomTree(rng, 1+rng.IntN(40))
		ds := randomDemands(rng, evses)
		if err := NewAllocator(tr).Allocate(ds, &alloc); err != nil {
			t.Fatal(err)
		}
		checkAllocation(t, fmt.Sprintf("case %d", iter), tr, ds, &alloc)
	}
}

// randomTree builds a grid → transformers → feeders → stations → EVSEs tree with limits that
// respect child ≤ parent for the distribution nodes (some unlimited) and EVSE ratings that may
// exceed their feeder.
func randomTree(rng *rand.Rand, evses int) (*Tree, []string) {
	limit := func(parent int64) int64 {
		if rng.IntN(4) == 0 {
			return NoLimit
		}
		if parent == NoLimit {
			parent = 400_000
		}
		return 1 + rng.Int64N(parent)
	}
	nodes := []Node{{ID: "g", Kind: KindGrid, LimitW: 1_000 + rng.Int64N(300_000)}}
	dist := []int{0}
	eff := []int64{nodes[0].LimitW} // nearest limited ancestor's limit, for child ≤ parent
	for i := range rng.IntN(8) {
		p := dist[rng.IntN(len(dist))]
		kind := KindTransformer
		if i%2 == 1 {
			kind = KindFeeder
		}
		l := limit(eff[p])
		e := l
		if l == NoLimit {
			e = eff[p]
		}
		nodes = append(nodes, Node{ID: fmt.Sprint("n", i), Parent: nodes[p].ID, Kind: kind, LimitW: l})
		dist = append(dist, len(nodes)-1)
		eff = append(eff, e)
	}
	var ids []string
	stations := []int{}
	for i := range evses {
		var parent int
		if len(stations) == 0 || rng.IntN(3) == 0 {
			p := dist[rng.IntN(len(dist))]
			nodes = append(nodes, Node{ID: fmt.Sprint("s", i), Parent: nodes[p].ID, Kind: KindStation, LimitW: limit(NoLimit)})
			stations = append(stations, len(nodes)-1)
			parent = len(nodes) - 1
		} else {
			parent = stations[rng.IntN(len(stations))]
		}
		kind := KindEVSE
		if rng.IntN(10) == 0 {
			kind = KindCabinet
		}
		nodes = append(nodes, Node{ID: fmt.Sprint("e", i), Parent: nodes[parent].ID, Kind: kind, LimitW: limit(NoLimit)})
		ids = append(ids, nodes[len(nodes)-1].ID)
	}
	rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	tr, err := Build(nodes)
	if err != nil {
		panic(err)
	}
	return tr, ids
}

func randomDemands(rng *rand.Rand, evses []string) []Demand {
	var ds []Demand
	for i, e := range evses {
		if rng.IntN(5) == 0 {
			continue // idle EVSE
		}
		d := Demand{ID: fmt.Sprint("d", i), Node: e, MaxW: rng.Int64N(350_000), Priority: rng.IntN(3), Weight: 1 + rng.Int64N(3)}
		switch rng.IntN(3) {
		case 0:
			d.MinW = 1_380 + rng.Int64N(3_000)
		case 1:
			d.MinW = rng.Int64N(d.MaxW + 1)
		}
		ds = append(ds, d)
	}
	return ds
}

// BenchmarkAllocate1000EVSEs: a full re-allocation of a 1,000-EVSE site (grid, 4 transformers,
// 40 feeders, 500 two-EVSE stations, every EVSE charging), with a warm Allocator.
func BenchmarkAllocate1000EVSEs(b *testing.B) {
	nodes := []Node{{ID: "g", Kind: KindGrid, LimitW: 5_000_000}}
	for t := range 4 {
		nodes = append(nodes, Node{ID: fmt.Sprint("t", t), Parent: "g", Kind: KindTransformer, LimitW: 1_600_000})
	}
	for f := range 40 {
		nodes = append(nodes, Node{ID: fmt.Sprint("f", f), Parent: fmt.Sprint("t", f%4), Kind: KindFeeder, LimitW: 250_000})
	}
	var ds []Demand
	rng := rand.New(rand.NewPCG(1, 2))
	for s := range 500 {
		nodes = append(nodes, Node{ID: fmt.Sprint("s", s), Parent: fmt.Sprint("f", s%40), Kind: KindStation, LimitW: 44_000})
		for e := range 2 {
			id := fmt.Sprint("s", s, "e", e)
			nodes = append(nodes, Node{ID: id, Parent: fmt.Sprint("s", s), Kind: KindEVSE, LimitW: 22_000})
			ds = append(ds, Demand{ID: id, Node: id, MaxW: 7_000 + rng.Int64N(15_000), MinW: 4_140, Priority: rng.IntN(2), Weight: 1 + rng.Int64N(2)})
		}
	}
	tr, err := Build(nodes)
	if err != nil {
		b.Fatal(err)
	}
	al := NewAllocator(tr)
	var out Allocation
	if err := al.Allocate(ds, &out); err != nil {
		b.Fatal(err)
	}
	checkAllocation(b, "bench", tr, ds, &out)
	b.ReportAllocs()
	for b.Loop() {
		if err := al.Allocate(ds, &out); err != nil {
			b.Fatal(err)
		}
	}
}
