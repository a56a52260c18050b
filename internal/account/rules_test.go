package account

import (
	"testing"
	"time"
)

func TestTokenStatus(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	active := &IdToken{IdTokenFields: IdTokenFields{Status: Active}}
	acc := &Account{Status: Active}
	cases := []struct {
		name         string
		tok          *IdToken
		acc          *Account
		balance, min int64
		credit       int64
		want         string
	}{
		{"unknown", nil, acc, 1000, 0, 0, AuthUnknown},
		{"blocked", &IdToken{IdTokenFields: IdTokenFields{Status: Blocked}}, acc, 1000, 0, 0, AuthBlocked},
		{"inactive", &IdToken{IdTokenFields: IdTokenFields{Status: Inactive}}, acc, 1000, 0, 0, AuthInvalid},
		{"expired", &IdToken{IdTokenFields: IdTokenFields{Status: Active, ExpiresAt: &past}}, acc, 1000, 0, 0, AuthExpired},
		{"not yet expired", &IdToken{IdTokenFields: IdTokenFields{Status: Active, ExpiresAt: &future}}, acc, 1000, 0, 0, AuthAccepted},
		{"account closed", active, &Account{Status: Inactive}, 1000, 0, 0, AuthBlocked},
		{"zero balance", active, acc, 0, 0, 0, AuthNoCredit},
		{"below minimum", active, acc, 499, 500, 0, AuthNoCredit},
		{"above minimum", active, acc, 501, 500, 0, AuthAccepted},
		{"credit limit allows", active, acc, -100, 0, 200, AuthAccepted},
		{"credit limit used up", active, acc, -200, 0, 200, AuthNoCredit},
	}
	for _, c := range cases {
		a := c.acc
		if a != nil {
			cp := *a
			cp.CreditLimit = c.credit
			a = &cp
		}
		if got := TokenStatus(c.tok, a, c.balance, c.min, now); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
