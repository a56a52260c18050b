package storetest

import (
	"testing"

	"github.com/evcs/evcs/internal/store"
)

func TestStores(t *testing.T) {
	Each(t, func(t *testing.T, s store.Store) { Run(t, s) })
}
