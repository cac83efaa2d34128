package main

import (
	"context"
	"sync"
	"time"
)

// paced is open-loop pacing: it starts fn rate times per second from now until ctx
// ends, each call in a goroutine of its own, at most inflight at once, and waits
// for the calls started to finish. fn gets the call's number and its scheduled
// time, from which its latency is counted: a call that waits for a free slot (the
// server behind) counts the wait. It returns how many calls it started.
func paced(ctx context.Context, rate float64, inflight int, fn func(i int64, at time.Time)) int64 {
	start := time.Now()
	every := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var i int64
	for {
		at := start.Add(time.Duration(i) * every)
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return i
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return i
		case sem <- struct{}{}:
		}
		if ctx.Err() != nil {
			<-sem
			return i
		}
		wg.Add(1)
		go func(i int64) {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i, at)
		}(i)
		i++
	}
}

// closedLoop runs n workers, each calling fn one call after the other until ctx
// ends, and waits for them.
func closedLoop(ctx context.Context, n int, fn func(worker int, i int64)) {
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := int64(0); ctx.Err() == nil; i++ {
				fn(w, i)
			}
		})
	}
	wg.Wait()
}
