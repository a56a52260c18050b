package app

// Queued is how many functions wait for the batch under way to commit.
func (b *Batcher) Queued() int { return len(b.reqs) }
