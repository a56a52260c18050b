package wsserver

import (
	"time"
)

// RateLimit bounds the messages one station may send: a token bucket per connection that holds
// Burst tokens and refills at Rate per second. Every CALL and SEND (and every frame that cannot
// be decoded) takes a token; CALLRESULTs and CALLERRORs answering EVCS's own calls never do, so a
// throttled station's answers to commands still arrive.
//
// Over the limit, a CALL is answered at once with CALLERROR GenericError ("rate limit
// exceeded", details {"reason":"RateLimited","retryAfterSeconds":n}) and is not handled; a SEND
// or an undecodable frame is dropped. OCPP has no error code for throttling: GenericError is the
// code a station treats as "try again later", and transaction-related messages are queued and
// retried by the station, so no meter value or stop is lost. EVCS answers rather than delays
// because delaying would stall the read loop, and with it the station's answers to EVCS's calls.
// Each connection has its own bucket and read loop: a flooding station never slows another.
type RateLimit struct {
	Rate  float64 // tokens added per second; a negative Rate turns limiting off
	Burst int     // bucket size: messages accepted back to back
}

// DefaultRateLimit is far above what a real station sends (a boot with many connectors, or the
// replay of a queue of offline transaction messages, stays well below it) and above what the
// closed-loop load tools (`evcs sim --load`, BenchmarkInbound) reach per station today, while
// capping a runaway or hostile station at a few percent of a core instead of all of them.
var DefaultRateLimit = RateLimit{Rate: 100, Burst: 1000}

// SetRateLimit sets the per-station limit (zero value: DefaultRateLimit), like
// Options.RateLimit. Call it before serving.
func (s *Server) SetRateLimit(l RateLimit) { s.opts.RateLimit = l }

func (s *Server) rateLimit() RateLimit {
	if l := s.opts.RateLimit; l.Rate != 0 || l.Burst != 0 {
		return l
	}
	return DefaultRateLimit
}

// bucket is a token bucket used by one read loop only (no locking).
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
	now                 func() time.Time
}

func newBucket(l RateLimit, now func() time.Time) *bucket {
	if l.Rate < 0 {
		return nil
	}
	burst := float64(max(l.Burst, 1))
	return &bucket{rate: l.Rate, burst: burst, tokens: burst, last: now(), now: now}
}

// allow takes a token if there is one. A nil bucket allows everything.
func (b *bucket) allow() bool {
	if b == nil {
		return true
	}
	t := b.now()
	b.tokens = min(b.burst, b.tokens+t.Sub(b.last).Seconds()*b.rate)
	b.last = t
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// retryAfter is how many whole seconds until the next token.
func (b *bucket) retryAfter() int {
	if b == nil || b.rate <= 0 {
		return 60
	}
	return max(1, int((1-b.tokens)/b.rate+0.999))
}
