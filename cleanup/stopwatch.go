package cleanup

import "time"

// Stopwatch measures how long a run and its batches take. It is not the
// clock that decides what is stale (that is the storage.Clock passed to Run):
// durations and the time budget are real time even when the clock is fixed.
type Stopwatch interface {
	// Start returns a function that reports the time elapsed since Start.
	Start() func() time.Duration
}

// monotonic is the machine's monotonic clock.
type monotonic struct{}

func (monotonic) Start() func() time.Duration {
	start := time.Now()
	return func() time.Duration { return time.Since(start) }
}

func (o Options) stopwatch() Stopwatch {
	if o.Stopwatch == nil {
		return monotonic{}
	}
	return o.Stopwatch
}
