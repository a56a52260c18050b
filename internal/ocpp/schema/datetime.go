package schema

// ValidDateTime reports whether s looks like an RFC 3339 date-time. The check is loose on
// purpose, to accept what real stations send: "T" or "t" or a space between date and time, any
// number of fraction digits, and a missing offset (read as UTC), which RFC 3339 itself forbids.
// Field ranges are checked (month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-60).
func ValidDateTime(s []byte) bool {
	// YYYY-MM-DD?hh:mm:ss
	if len(s) < 19 {
		return false
	}
	if !digits(s[0:4]) || s[4] != '-' || !digits(s[5:7]) || s[7] != '-' || !digits(s[8:10]) ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		!digits(s[11:13]) || s[13] != ':' || !digits(s[14:16]) || s[16] != ':' || !digits(s[17:19]) {
		return false
	}
	if !in(s[5:7], 1, 12) || !in(s[8:10], 1, 31) || !in(s[11:13], 0, 23) || !in(s[14:16], 0, 59) || !in(s[17:19], 0, 60) {
		return false
	}
	rest := s[19:]
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	switch {
	case len(rest) == 0:
		return true
	case len(rest) == 1:
		return rest[0] == 'Z' || rest[0] == 'z'
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-'):
		return digits(rest[1:3]) && rest[3] == ':' && digits(rest[4:6]) && in(rest[1:3], 0, 23) && in(rest[4:6], 0, 59)
	}
	return false
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func in(b []byte, lo, hi int) bool {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n >= lo && n <= hi
}

// validURI accepts an absolute URI: a scheme (letter, then letters, digits, "+", "-", ".")
// followed by ":" and at least one character, without spaces or control characters.
func validURI(s []byte) bool {
	colon := -1
	for i, c := range s {
		if c == ':' {
			colon = i
			break
		}
		isAlpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !isAlpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	if colon < 1 || colon == len(s)-1 {
		return false
	}
	for _, c := range s[colon+1:] {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
