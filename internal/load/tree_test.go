package load

import (
	"strings"
	"testing"
)

func TestBuildRefuses(t *testing.T) {
	cases := []struct {
		name  string
		nodes []Node
		want  string
	}{
		{"empty", nil, "no nodes"},
		{"cycle", []Node{{ID: "g", Kind: KindGrid, LimitW: 100}, {ID: "a", Parent: "b", Kind: KindFeeder, LimitW: NoLimit}, {ID: "b", Parent: "a", Kind: KindFeeder, LimitW: NoLimit}}, "cycle"},
		{"no root", []Node{{ID: "a", Parent: "a", Kind: KindGrid, LimitW: 1}}, "no root"},
		{"two roots", []Node{{ID: "a", Kind: KindGrid, LimitW: 1}, {ID: "b", Kind: KindGrid, LimitW: 1}}, "two roots"},
		{"unknown parent", []Node{{ID: "a", Kind: KindGrid, LimitW: 1}, {ID: "b", Parent: "x", Kind: KindFeeder, LimitW: 1}}, "unknown parent"},
		{"duplicate", []Node{{ID: "a", Kind: KindGrid, LimitW: 1}, {ID: "a", Parent: "a", Kind: KindFeeder, LimitW: 1}}, "twice"},
		{"negative", []Node{{ID: "a", Kind: KindGrid, LimitW: -5}}, "negative"},
		{"child above parent", []Node{{ID: "g", Kind: KindGrid, LimitW: 100_000}, {ID: "t", Parent: "g", Kind: KindTransformer, LimitW: 150_000}}, "above its parent"},
		{"child above limited grandparent", []Node{{ID: "g", Kind: KindGrid, LimitW: 100_000}, {ID: "t", Parent: "g", Kind: KindTransformer, LimitW: NoLimit},
			{ID: "f", Parent: "t", Kind: KindFeeder, LimitW: 100_001}}, "above its parent"},
	}
	for _, c := range cases {
		_, err := Build(c.nodes)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func TestBuildOrdersAndShares(t *testing.T) {
	// An EVSE rated above its feeder is fine: the allocator keeps it under the feeder.
	tr, err := Build([]Node{
		{ID: "e2", Parent: "s1", Kind: KindEVSE, LimitW: 22_000},
		{ID: "s1", Parent: "f1", Kind: KindStation, LimitW: NoLimit},
		{ID: "g", Kind: KindGrid, LimitW: 100_000},
		{ID: "f1", Parent: "g", Kind: KindFeeder, LimitW: 30_000},
		{ID: "e1", Parent: "s1", Kind: KindEVSE, LimitW: 50_000},
		{ID: "e3", Parent: "g", Kind: KindEVSE, LimitW: 11_000},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range tr.Len() {
		ids = append(ids, tr.Node(i).ID)
		if p := tr.Parent(i); p >= i {
			t.Errorf("parent of %d at %d: not preorder", i, p)
		}
	}
	if got := strings.Join(ids, ","); got != "g,f1,s1,e2,e1,e3" {
		t.Errorf("preorder %s", got)
	}
	// Failsafe: g shares 100 kW among 3 EVSEs (33 333 W), f1 30 kW among 2 (15 kW).
	for id, want := range map[string]int64{"e1": 15_000, "e2": 15_000, "e3": 11_000} {
		i, _ := tr.Index(id)
		if got := tr.FailsafeW(i); got != want {
			t.Errorf("failsafe %s = %d, want %d", id, got, want)
		}
	}
}

func TestUnits(t *testing.T) {
	cases := []struct {
		a          int64
		v, phases  int
		w, deciAmp int64
	}{
		{32, 400, 3, 22_080, 320}, // 3 × 230 V × 32 A
		{16, 230, 1, 3_680, 160},
		{32, 380, 3, 21_024, 320},
		{6, 400, 3, 4_140, 60},
		{10, 0, 0, 2_300, 100},
	}
	for _, c := range cases {
		if got := CurrentToW(c.a, c.v, c.phases); got != c.w {
			t.Errorf("CurrentToW(%d, %d, %d) = %d, want %d", c.a, c.v, c.phases, got, c.w)
		}
		if got := WToDeciAmps(c.w, c.v, c.phases); got != c.deciAmp {
			t.Errorf("WToDeciAmps(%d, %d, %d) = %d, want %d", c.w, c.v, c.phases, got, c.deciAmp)
		}
	}
	if got := NodePhaseLimitW(100); got != 69_000 {
		t.Errorf("NodePhaseLimitW(100) = %d", got)
	}
}
