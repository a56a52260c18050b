package charging

// Ranges is a compact set of integers as sorted, disjoint, non-adjacent [lo, hi] pairs. 2.x
// sessions use it for the seqNos received: a long session stays one pair however many events.
type Ranges [][2]int

// Add inserts n and reports whether it was new.
func (r *Ranges) Add(n int) bool {
	s := *r
	i := 0
	for i < len(s) && s[i][1] < n-1 {
		i++
	}
	if i < len(s) && s[i][0] <= n && n <= s[i][1] {
		return false
	}
	switch {
	case i < len(s) && s[i][0] == n+1: // extends the next pair down
		s[i][0] = n
	case i < len(s) && s[i][1] == n-1: // extends this pair up, maybe joining the next
		s[i][1] = n
		if i+1 < len(s) && s[i+1][0] == n+1 {
			s[i][1] = s[i+1][1]
			s = append(s[:i+1], s[i+2:]...)
		}
	default:
		s = append(s, [2]int{})
		copy(s[i+1:], s[i:])
		s[i] = [2]int{n, n}
	}
	*r = s
	return true
}

// Has reports whether n is in the set.
func (r Ranges) Has(n int) bool {
	for _, p := range r {
		if p[0] <= n && n <= p[1] {
			return true
		}
	}
	return false
}
