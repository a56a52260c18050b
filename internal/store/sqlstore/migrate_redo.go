package sqlstore

import (
	"context"
	"fmt"
)

// RedoMigration rolls one applied migration back and applies it again: a test that a
// migration's back-fill rebuilds what the running code keeps.
func (db *DB) RedoMigration(ctx context.Context, version int64) error {
	p, err := provider(db.w, db.d)
	if err != nil {
		return err
	}
	if _, err := p.ApplyVersion(ctx, version, false); err != nil {
		return fmt.Errorf("migration %d down: %w", version, err)
	}
	if _, err := p.ApplyVersion(ctx, version, true); err != nil {
		return fmt.Errorf("migration %d up: %w", version, err)
	}
	return nil
}
