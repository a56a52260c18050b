// Package load is the site's power-distribution tree and the allocation of power among the
// sessions and batteries charging under it. Pure: no I/O, no clock, deterministic.
//
// A Tree is the grid connection, its transformers and feeders, the stations hanging off them,
// their EVSEs and swap cabinets, each with an optional limit in W. Per-phase current limits are
// converted to W once, when the tree is built (see PhaseW). Allocate divides the power among
// Demands so that no node is above its limit and no demand above its maximum (see Allocate for
// the rule).
package load

import (
	"fmt"
	"math"

	"github.com/evcs/evcs/internal/errs"
)

// NoLimit marks a node without a power limit of its own.
const NoLimit int64 = -1

// Node kinds. Grid, transformer and feeder nodes are the distribution tree proper: a child's
// limit may not exceed its nearest limited ancestor's. Stations, EVSEs and cabinets are
// consumers: their ratings cap what flows through them but may exceed the feeder (the
// allocator keeps them under it).
const (
	KindGrid        = "grid"
	KindTransformer = "transformer"
	KindFeeder      = "feeder"
	KindStation     = "station"
	KindEVSE        = "evse"
	KindCabinet     = "cabinet"
)

// Node is one vertex of the tree as the caller describes it.
type Node struct {
	ID     string
	Parent string // "" for the root
	Kind   string
	LimitW int64 // NoLimit, or the most power that may flow through the node, in W
}

// Tree is a validated, ordered distribution tree. Build it once per topology and allocate on it
// as often as needed; it is read-only after Build and safe for concurrent use.
type Tree struct {
	nodes  []Node  // in preorder: a parent comes before its children
	parent []int32 // index of the parent, -1 for the root
	end    []int32 // the subtree of i is [i, end[i]) in preorder
	depth  []int32
	limit  []int64 // math.MaxInt64 for NoLimit
	leaves []int32 // count of EVSE and cabinet nodes under each node (for fair shares)
	index  map[string]int32
}

// IsDistribution reports whether kind is a grid, transformer or feeder.
func IsDistribution(kind string) bool {
	return kind == KindGrid || kind == KindTransformer || kind == KindFeeder
}

// Build checks nodes and orders them. It refuses: duplicate or empty ids, an unknown parent,
// no root or several roots, a cycle, a negative limit, and a distribution node whose limit is
// above its nearest limited distribution ancestor's.
func Build(nodes []Node) (*Tree, error) {
	if len(nodes) == 0 {
		return nil, errs.E(errs.Invalid, "distribution tree: no nodes")
	}
	if len(nodes) > math.MaxInt32/2 {
		return nil, errs.E(errs.Invalid, "distribution tree: too many nodes")
	}
	byID := make(map[string]int32, len(nodes))
	root := int32(-1)
	for i, n := range nodes {
		if n.ID == "" {
			return nil, errs.E(errs.Invalid, "distribution tree: a node has no id")
		}
		if _, dup := byID[n.ID]; dup {
			return nil, errs.E(errs.Invalid, "distribution tree: node %s appears twice", n.ID)
		}
		if n.LimitW < 0 && n.LimitW != NoLimit {
			return nil, errs.E(errs.Invalid, "distribution tree: node %s has a negative limit", n.ID)
		}
		byID[n.ID] = int32(i)
		if n.Parent == "" {
			if root >= 0 {
				return nil, errs.E(errs.Invalid, "distribution tree: two roots (%s and %s)", nodes[root].ID, n.ID)
			}
			root = int32(i)
		}
	}
	if root < 0 {
		return nil, errs.E(errs.Invalid, "distribution tree: no root (every node has a parent: a cycle)")
	}
	// Children lists in input order (deterministic), then an iterative preorder walk.
	first := make([]int32, len(nodes))
	next := make([]int32, len(nodes))
	last := make([]int32, len(nodes))
	for i := range first {
		first[i], next[i], last[i] = -1, -1, -1
	}
	for i, n := range nodes {
		if n.Parent == "" {
			continue
		}
		p, ok := byID[n.Parent]
		if !ok {
			return nil, errs.E(errs.Invalid, "distribution tree: node %s has an unknown parent %s", n.ID, n.Parent)
		}
		if first[p] < 0 {
			first[p] = int32(i)
		} else {
			next[last[p]] = int32(i)
		}
		last[p] = int32(i)
	}
	t := &Tree{nodes: make([]Node, 0, len(nodes)), parent: make([]int32, 0, len(nodes)), depth: make([]int32, 0, len(nodes)),
		index: make(map[string]int32, len(nodes))}
	pos := make([]int32, len(nodes)) // input index → preorder index
	type frame struct{ in, pre int32 }
	stack := []frame{{root, -1}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pre := int32(len(t.nodes))
		pos[f.in] = pre
		t.nodes = append(t.nodes, nodes[f.in])
		t.parent = append(t.parent, f.pre)
		d := int32(0)
		if f.pre >= 0 {
			d = t.depth[f.pre] + 1
		}
		t.depth = append(t.depth, d)
		t.index[nodes[f.in].ID] = pre
		// Push children in reverse so that they come out in input order.
		var kids []int32
		for c := first[f.in]; c >= 0; c = next[c] {
			kids = append(kids, c)
		}
		for k := len(kids) - 1; k >= 0; k-- {
			stack = append(stack, frame{kids[k], pre})
		}
	}
	if len(t.nodes) != len(nodes) {
		for i := range nodes {
			if _, ok := t.index[nodes[i].ID]; !ok {
				return nil, errs.E(errs.Invalid, "distribution tree: node %s is on a cycle (not reachable from the root %s)", nodes[i].ID, nodes[root].ID)
			}
		}
	}
	n := len(t.nodes)
	t.end = make([]int32, n)
	t.limit = make([]int64, n)
	t.leaves = make([]int32, n)
	for i := n - 1; i >= 0; i-- {
		if t.end[i] == 0 {
			t.end[i] = int32(i + 1)
		}
		if k := t.nodes[i].Kind; k == KindEVSE || k == KindCabinet {
			t.leaves[i]++
		}
		if p := t.parent[i]; p >= 0 {
			if t.end[i] > t.end[p] {
				t.end[p] = t.end[i]
			}
			t.leaves[p] += t.leaves[i]
		}
		t.limit[i] = t.nodes[i].LimitW
		if t.limit[i] == NoLimit {
			t.limit[i] = math.MaxInt64
		}
	}
	for i := range t.nodes {
		if err := t.checkBelowAncestor(int32(i)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// checkBelowAncestor refuses a distribution node limited above its nearest limited
// distribution ancestor.
func (t *Tree) checkBelowAncestor(i int32) error {
	n := t.nodes[i]
	if !IsDistribution(n.Kind) || n.LimitW == NoLimit {
		return nil
	}
	for p := t.parent[i]; p >= 0; p = t.parent[p] {
		if IsDistribution(t.nodes[p].Kind) && t.nodes[p].LimitW != NoLimit {
			if n.LimitW > t.nodes[p].LimitW {
				return errs.E(errs.Invalid, "distribution tree: node %s limit %d W is above its parent %s limit %d W", n.ID, n.LimitW, t.nodes[p].ID, t.nodes[p].LimitW)
			}
			return nil
		}
	}
	return nil
}

// Len is the number of nodes.
func (t *Tree) Len() int { return len(t.nodes) }

// Node returns the i-th node in preorder (the root is 0).
func (t *Tree) Node(i int) Node { return t.nodes[i] }

// Parent is the preorder index of node i's parent, -1 for the root.
func (t *Tree) Parent(i int) int { return int(t.parent[i]) }

// Depth is node i's distance from the root.
func (t *Tree) Depth(i int) int { return int(t.depth[i]) }

// Index returns the preorder index of the node with id.
func (t *Tree) Index(id string) (int, bool) {
	i, ok := t.index[id]
	return int(i), ok
}

// FailsafeW is the power an EVSE or cabinet may draw on its own authority when EVCS is
// unreachable: the smallest, over the node and its ancestors, of the ancestor's limit divided
// by the EVSEs and cabinets under it (each node's even share if everything under it charges at
// once), and the node's own limit. Stations keep it as a TxDefaultProfile.
func (t *Tree) FailsafeW(i int) int64 {
	best := int64(math.MaxInt64)
	for v := int32(i); v >= 0; v = t.parent[v] {
		if t.limit[v] == math.MaxInt64 {
			continue
		}
		share := t.limit[v]
		if l := int64(t.leaves[v]); l > 1 {
			share /= l
		}
		best = min(best, share)
	}
	if best == math.MaxInt64 {
		return NoLimit
	}
	return best
}

func (t *Tree) String() string { return fmt.Sprintf("load.Tree(%d nodes)", len(t.nodes)) }
