// Package ids generates identifiers: ULIDs, sortable by creation time, safe across nodes.
package ids

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var (
	mu      sync.Mutex
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// New returns a new ULID string, prefixed ("site_01J...") when prefix is not empty.
func New(prefix string) string {
	mu.Lock()
	id := ulid.MustNew(ulid.Timestamp(time.Now()), entropy)
	mu.Unlock()
	if prefix == "" {
		return id.String()
	}
	return prefix + "_" + id.String()
}
