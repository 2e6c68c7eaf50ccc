package httpapi

import (
	"math"
	"sync"
	"time"
)

// failureLimiter counts failed authentications per client: a token bucket
// each, holding burst attempts and refilled by one every interval. A
// client whose bucket is empty is refused until it refills; successful
// authentications take nothing from it. It remembers at most max clients:
// a full bucket is the same as none, so those are forgotten first, then
// the one that failed longest ago.
type failureLimiter struct {
	burst float64
	every time.Duration
	max   int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was counted
	failed time.Time // the last failure
}

func newFailureLimiter(burst int, every time.Duration, max int) *failureLimiter {
	return &failureLimiter{burst: float64(burst), every: every, max: max, buckets: map[string]*bucket{}}
}

// refill brings b up to now.
func (l *failureLimiter) refill(b *bucket, now time.Time) {
	if gained := float64(now.Sub(b.at)) / float64(l.every); gained > 0 {
		b.tokens = math.Min(l.burst, b.tokens+gained)
		b.at = now
	}
}

// wait returns how long the client must wait before its next attempt
// counts: 0 when it may try now.
func (l *failureLimiter) wait(client string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[client]
	if !ok {
		return 0
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - b.tokens) * float64(l.every)))
}

// fail records a failed attempt by the client.
func (l *failureLimiter) fail(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[client]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[client] = b
	}
	l.refill(b, now)
	b.tokens = math.Max(0, b.tokens-1)
	b.failed = now
}

// evict makes room for one more client.
func (l *failureLimiter) evict(now time.Time) {
	var oldest string
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.buckets, k)
		} else if oldest == "" || b.failed.Before(l.buckets[oldest].failed) {
			oldest = k
		}
	}
	if len(l.buckets) >= l.max {
		delete(l.buckets, oldest)
	}
}

// size is how many clients the limiter remembers.
func (l *failureLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
