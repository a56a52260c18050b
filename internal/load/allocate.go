package load

import (
	"math"
	"slices"

	"github.com/evcs/evcs/internal/errs"
)

// Demand is one consumer of power under a node of the tree: a charging session at an EVSE or a
// battery charging in a swap cabinet.
type Demand struct {
	ID   string // session or battery id, for the caller
	Node string // the node it draws through (usually an EVSE or cabinet)
	// MaxW is the most it can take (connector, vehicle or battery charger limit).
	MaxW int64
	// MinW is the least it can usefully charge with (IEC 61851: 6 A per phase). A demand that
	// cannot get its minimum gets nothing. 0 = none.
	MinW int64
	// Priority orders who gets their minimum first when not all minimums fit (higher first).
	Priority int
	// Weight multiplies the fair share (priority tokens): a weight of 2 gets twice the power of
	// a weight of 1 under the same constraint. 0 counts as 1; at most MaxWeight.
	Weight int64
}

// MaxWeight bounds Demand.Weight.
const MaxWeight = 1000

// MaxPowerW bounds Demand.MaxW (1 GW), so that sums and weighted levels stay far from overflow.
const MaxPowerW = 1_000_000_000

// Allocation is the result of Allocate.
type Allocation struct {
	// DemandW is the power of each demand, in the order given.
	DemandW []int64
	// Admitted tells whether the demand's minimum could be met (false → DemandW is 0).
	Admitted []bool
	// NodeW is the power allocated through each node, in the tree's preorder.
	NodeW []int64
}

// Allocator allocates on one tree and keeps its working memory between calls, so that a
// re-allocation allocates nothing once warm. Not safe for concurrent use.
type Allocator struct {
	t *Tree
	// per demand
	leaf  []int32
	order []int32
	e     []int64 // current effective maximum
	prev  []int64 // e before the node being filled lowered it
	w     []int64
	mins  []int64
	// per node
	rem    []int64
	lim    []int64 // the limits less the reserves
	lo, hi []int32 // range of order (sorted by leaf) under each node
}

// NewAllocator returns an allocator for t.
func NewAllocator(t *Tree) *Allocator { return &Allocator{t: t} }

// Allocate divides the power among ds with the rule:
//
//  1. Minimums by priority. Demands are taken by Priority (highest first, then in the order
//     given); each is admitted if its MinW still fits under every node on its path after the
//     minimums already admitted, else it gets 0. A demand with MinW 0 is always admitted.
//  2. Weighted max-min fair share (water-filling) of the rest. Every admitted demand i gets
//     clamp(Weight_i × λ, MinW_i, MaxW_i) where the water level λ is set per node: going up
//     from the EVSEs to the root, a node whose demands would exceed its limit freezes the level
//     of everything under it at the highest λ that fits, and hands the last watts (less than
//     one W per unit of weight) to its still-rising demands in tree order so that it is used
//     to the watt.
//
// The result never puts a node above its limit or a demand above its MaxW; an admitted demand
// gets at least its MinW; and it is work-conserving: a demand below its MaxW has a saturated
// node on its path (or, if not admitted, a node on its path with less room than its MinW).
// Deterministic: the same tree and demands give the same allocation.
func (a *Allocator) Allocate(ds []Demand, out *Allocation) error {
	return a.AllocateReserved(ds, nil, out)
}

// AllocateReserved is Allocate with part of the limits already taken by load that is not among
// ds: reserveW[v] watts (by preorder index; nil: none) come off the limit of node v and of each
// of its limited ancestors (never below 0). A site meter that sees more than the managed
// demands draw is such a load: the building, or chargers EVCS does not manage.
func (a *Allocator) AllocateReserved(ds []Demand, reserveW []int64, out *Allocation) error {
	t := a.t
	n, m := len(t.nodes), len(ds)
	a.leaf = grow(a.leaf, m)
	a.order = grow(a.order, m)
	a.e = grow(a.e, m)
	a.prev = grow(a.prev, m)
	a.w = grow(a.w, m)
	a.mins = grow(a.mins, m)
	a.rem = grow(a.rem, n)
	a.lo = grow(a.lo, n)
	a.hi = grow(a.hi, n)
	out.DemandW = grow(out.DemandW, m)
	out.Admitted = grow(out.Admitted, m)
	out.NodeW = grow(out.NodeW, n)
	for i, d := range ds {
		li, ok := t.index[d.Node]
		if !ok {
			return errs.E(errs.Invalid, "demand %s: unknown node %s", d.ID, d.Node)
		}
		if d.MaxW < 0 || d.MinW < 0 || d.MaxW > MaxPowerW {
			return errs.E(errs.Invalid, "demand %s: power must be 0 to %d W", d.ID, MaxPowerW)
		}
		w := d.Weight
		if w <= 0 {
			w = 1
		}
		if w > MaxWeight {
			return errs.E(errs.Invalid, "demand %s: weight above %d", d.ID, MaxWeight)
		}
		a.leaf[i], a.w[i], a.order[i] = li, w, int32(i)
		// A minimum above the maximum cannot be honoured: the demand takes its maximum or nothing.
		a.mins[i] = min(d.MinW, d.MaxW)
		a.e[i] = d.MaxW
	}
	a.lim = grow(a.lim, n)
	copy(a.lim, t.limit)
	for v, r := range reserveW {
		if r <= 0 || v >= n {
			continue
		}
		for u := int32(v); u >= 0; u = t.parent[u] {
			if a.lim[u] != math.MaxInt64 {
				a.lim[u] = max(0, a.lim[u]-r)
			}
		}
	}
	copy(a.rem, a.lim)

	// 1. Minimums, by priority.
	slices.SortStableFunc(a.order, func(x, y int32) int { return ds[y].Priority - ds[x].Priority })
	for _, i := range a.order {
		out.Admitted[i] = a.admit(a.leaf[i], a.mins[i])
		if !out.Admitted[i] {
			a.e[i] = 0
		}
	}

	// 2. Water-filling, children before parents. Sort demands by their leaf's preorder index so
	// that the demands under node v are order[lo[v]:hi[v]].
	slices.SortStableFunc(a.order, func(x, y int32) int { return int(a.leaf[x]) - int(a.leaf[y]) })
	a.ranges()
	for v := n - 1; v >= 0; v-- {
		if a.lim[v] != math.MaxInt64 && a.hi[v] > a.lo[v] {
			a.fill(a.order[a.lo[v]:a.hi[v]], a.lim[v])
		}
	}

	clear(out.NodeW)
	for i := range m {
		out.DemandW[i] = a.e[i]
		for v := a.leaf[i]; v >= 0; v = t.parent[v] {
			out.NodeW[v] += a.e[i]
		}
	}
	return nil
}

// admit reserves minW on the path from leaf to the root if it fits everywhere.
func (a *Allocator) admit(leaf int32, minW int64) bool {
	if minW == 0 {
		return true
	}
	p := a.t.parent
	for v := leaf; v >= 0; v = p[v] {
		if a.rem[v] < minW {
			return false
		}
	}
	for v := leaf; v >= 0; v = p[v] {
		if a.rem[v] != math.MaxInt64 {
			a.rem[v] -= minW
		}
	}
	return true
}

// ranges sets lo/hi: the demands (in leaf order) under each node's subtree [v, end[v]).
func (a *Allocator) ranges() {
	t := a.t
	for v := range t.nodes {
		a.lo[v] = int32(a.search(int32(v)))
		a.hi[v] = int32(a.search(t.end[v]))
	}
}

// search is the first position in order whose leaf is ≥ node.
func (a *Allocator) search(node int32) int {
	lo, hi := 0, len(a.order)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if a.leaf[a.order[mid]] < node {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// fill lowers the effective maxima of the demands in idx so that their sum fits capW, by the
// water level rule (see Allocate).
func (a *Allocator) fill(idx []int32, capW int64) {
	var sum int64
	var top int64 // a level at which every demand is at its effective maximum
	for _, i := range idx {
		sum += a.e[i]
		if a.e[i] > 0 {
			top = max(top, (a.e[i]+a.w[i]-1)/a.w[i])
		}
	}
	if sum <= capW {
		return
	}
	// Largest level λ in [0, top) with level(λ) ≤ capW; level(0) = Σ minimums ≤ capW because
	// minimums were admitted against this node's limit.
	lo, hi := int64(0), top
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if a.level(idx, mid) <= capW {
			lo = mid
		} else {
			hi = mid
		}
	}
	left := capW
	for _, i := range idx {
		a.prev[i] = a.e[i]
		if a.e[i] > 0 {
			a.e[i] = clampLevel(a.w[i]*lo, a.mins[i], a.e[i])
		}
		left -= a.e[i]
	}
	// Hand out what λ+1 would have overfilled, at most one weight's worth each, in tree order,
	// so that the node is used to the watt.
	for _, i := range idx {
		if left <= 0 {
			break
		}
		if a.prev[i] == 0 {
			continue
		}
		next := clampLevel(a.w[i]*(lo+1), a.mins[i], a.prev[i])
		if extra := min(next-a.e[i], left); extra > 0 {
			a.e[i] += extra
			left -= extra
		}
	}
}

func (a *Allocator) level(idx []int32, l int64) int64 {
	var s int64
	for _, i := range idx {
		if a.e[i] != 0 {
			s += clampLevel(a.w[i]*l, a.mins[i], a.e[i])
		}
	}
	return s
}

func clampLevel(x, lo, hi int64) int64 {
	if x < lo {
		x = lo
	}
	if x > hi {
		x = hi
	}
	return x
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Allocate is a one-shot Allocator.Allocate.
func Allocate(t *Tree, ds []Demand) (*Allocation, error) {
	var out Allocation
	if err := NewAllocator(t).Allocate(ds, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
