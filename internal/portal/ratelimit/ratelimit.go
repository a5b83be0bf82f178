// Package ratelimit counts attempts per key (an account, a board, an address) in memory with
// token buckets, so that guessing activation codes or passwords is slow.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter is a set of token buckets, one per key, each holding up to Burst tokens and refilled at
// one token per Every. The zero value is not usable; use New. It is safe for concurrent use.
// State is in memory: a restart forgets it, and several portal processes each count their own.
type Limiter struct {
	Burst int
	Every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a limiter allowing burst attempts at once and one more per every.
func New(burst int, every time.Duration) *Limiter {
	return &Limiter{Burst: burst, Every: every, now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket, reporting whether there was one.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) > 100_000 {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(l.Burst), at: now}
		l.buckets[key] = b
	}
	b.tokens = min(float64(l.Burst), b.tokens+float64(now.Sub(b.at))/float64(l.Every))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep forgets full buckets, which behave as new ones would, so memory stays bounded.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.Every) >= float64(l.Burst) {
			delete(l.buckets, k)
		}
	}
}

// Wait returns how long until key's bucket has a token again: 0 when it has one now.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return 0
	}
	tokens := min(float64(l.Burst), b.tokens+float64(l.now().Sub(b.at))/float64(l.Every))
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(l.Every))
}
