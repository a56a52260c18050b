package app

import "sync"

// Event is something that happened, for live views (console, alarms, load manager).
type Event struct {
	Kind      string `json:"kind"` // "station.connected", "status", "session.started", "session.updated", "session.ended", …
	StationID string `json:"station_id,omitempty"`
	Data      any    `json:"data,omitempty"`
}

// Bus is an in-process publish/subscribe of events. Slow subscribers lose events rather than
// slowing the station path down.
type Bus struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[chan Event]struct{}{}} }

// Subscribe returns a channel of events and a function to stop.
func (b *Bus) Subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, buf)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
		b.mu.Unlock()
	}
}

// Publish sends e to every subscriber that has room.
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
	b.mu.Unlock()
}
