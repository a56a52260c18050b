package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"golang.org/x/crypto/bcrypt"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

func itoa(i int) string { return strconv.Itoa(i) }

// newOrCopy returns a copy of old, or a new record when old is nil.
func newOrCopy[T any](old *T, mk func() *T) *T {
	if old == nil {
		return mk()
	}
	c := *old
	return &c
}

// mustExist loads a referenced record or fails with an Invalid error naming the field.
func mustExist[T any](ctx context.Context, r store.Repo[T], field, id string) (*T, error) {
	if id == "" {
		return nil, errs.Field(field, "is required")
	}
	v, err := r.Get(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Field(field, "%q does not exist", id)
	}
	return v, err
}

// mustBeFree fails with Conflict naming field when a record matching filter exists.
func mustBeFree[T any](ctx context.Context, r store.Repo[T], filter map[string]string, field string) error {
	items, _, err := r.List(ctx, store.Query{Filter: filter, Limit: 1})
	if err != nil {
		return err
	}
	if len(items) > 0 {
		return &errs.Error{Kind: errs.Conflict, Field: field, Msg: "already in use"}
	}
	return nil
}

// HashSecret hashes a password with bcrypt.
func HashSecret(s string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.DefaultCost)
	if err != nil {
		return "", errs.Wrap("hash", err)
	}
	return string(b), nil
}

// CheckSecret compares a password with its bcrypt hash.
func CheckSecret(hash, s string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(s)) == nil
}

// tokenHash hashes a high-entropy API token; bcrypt is for low-entropy passwords.
func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}
