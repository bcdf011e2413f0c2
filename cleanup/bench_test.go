package cleanup_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/memory"
)

// The hot paths on the in-memory backend. The PostgreSQL figures come from
// the benchmark program (go run ./internal/bench, see BENCHMARKS.md); these
// show how the reference model's cost grows with the table it works on:
//
//	go test -run '^$' -bench . -benchmem ./cleanup

var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchCompatSessions adds n compat sessions of user u, each with an access
// and a refresh token, finished at the clock's time, which moves a
// millisecond per session.
func benchCompatSessions(tb testing.TB, store storage.Store, clock *storage.TestClock, u *storage.User, n int) {
	tb.Helper()
	ctx := context.Background()
	err := store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
		repo := tx.CompatSessions()
		for i := 0; i < n; i++ {
			clock.Advance(time.Millisecond)
			s, err := repo.Add(ctx, clock, u, fmt.Sprintf("D%d", clock.Now().UnixNano()), nil, false)
			if err != nil {
				return err
			}
			at, err := repo.AddAccessToken(ctx, clock, s, fmt.Sprintf("mct_%d", clock.Now().UnixNano()), 0)
			if err != nil {
				return err
			}
			if _, err := repo.AddRefreshToken(ctx, clock, s, at, fmt.Sprintf("mcr_%d", clock.Now().UnixNano())); err != nil {
				return err
			}
			if _, err := repo.Finish(ctx, clock, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func benchUser(tb testing.TB, store storage.Store, clock storage.Clock, name string) *storage.User {
	tb.Helper()
	u, err := store.Users().Add(context.Background(), clock, name)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// BenchmarkCompatCleanupBatch is one batch of 1000 of the compat cleanup on
// a table holding `sessions` finished sessions (refilled, untimed, after
// each batch): the cost of a batch as the table grows.
func BenchmarkCompatCleanupBatch(b *testing.B) {
	for _, sessions := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			const limit = 1000
			store := memory.New()
			clock := storage.NewTestClock(benchStart)
			u := benchUser(b, store, clock, "u")
			benchCompatSessions(b, store, clock, u, sessions)
			ctx := context.Background()
			deleted := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch, err := store.CompatSessions().CleanupFinished(ctx, storage.Cursor{}, clock.Now().Add(time.Hour), limit)
				if err != nil {
					b.Fatal(err)
				}
				if batch.Affected != limit {
					b.Fatalf("affected %d, want %d", batch.Affected, limit)
				}
				deleted += batch.Affected
				b.StopTimer()
				benchCompatSessions(b, store, clock, u, limit)
				b.StartTimer()
			}
			b.ReportMetric(float64(deleted)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCompatCleanupRun is a whole compat job over `sessions` finished
// sessions, in batches of 1000 (the store is rebuilt, untimed, each time).
func BenchmarkCompatCleanupRun(b *testing.B) {
	job, err := cleanup.Lookup("cleanup-finished-compat-sessions")
	if err != nil {
		b.Fatal(err)
	}
	for _, sessions := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			ctx := context.Background()
			deleted := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				store := memory.New()
				clock := storage.NewTestClock(benchStart)
				benchCompatSessions(b, store, clock, benchUser(b, store, clock, "u"), sessions)
				clock.Advance(31 * 24 * time.Hour)
				b.StartTimer()
				r, err := cleanup.Run(ctx, job, store, clock, cleanup.Options{BatchSize: 1000})
				if err != nil {
					b.Fatal(err)
				}
				if r.Affected != sessions {
					b.Fatalf("affected %d, want %d", r.Affected, sessions)
				}
				deleted += r.Affected
			}
			b.ReportMetric(float64(deleted)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// benchPopulated is a store with a bit of everything, stale 31 days later:
// per user, a browser session with a compat and an OAuth 2.0 session (all
// finished), a revoked access token, a finished browser session with a live
// compat child (blocked), and a completed queue job.
func benchPopulated(tb testing.TB, users int) (storage.Store, *storage.TestClock) {
	tb.Helper()
	store := memory.New()
	clock := storage.NewTestClock(benchStart)
	ctx := context.Background()
	client, err := store.OAuth2Clients().Add(ctx, clock, "client", []string{"https://app.example/"})
	if err != nil {
		tb.Fatal(err)
	}
	err = store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
		worker, err := tx.Queue().RegisterWorker(ctx, clock)
		if err != nil {
			return err
		}
		for i := 0; i < users; i++ {
			clock.Advance(time.Millisecond)
			u, err := tx.Users().Add(ctx, clock, fmt.Sprintf("user%d", i))
			if err != nil {
				return err
			}
			if err := benchUserData(ctx, tx, clock, client, u); err != nil {
				return err
			}
			if _, err := tx.Queue().Enqueue(ctx, clock, "email", nil); err != nil {
				return err
			}
			jobs, err := tx.Queue().Reserve(ctx, clock, worker, []string{"email"}, 1)
			if err != nil {
				return err
			}
			for _, j := range jobs {
				if _, err := tx.Queue().CompleteJob(ctx, clock, j); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	clock.Advance(31 * 24 * time.Hour)
	return store, clock
}

func benchUserData(ctx context.Context, tx storage.Repository, clock storage.Clock, client *storage.OAuth2Client, u *storage.User) error {
	browser, err := tx.UserSessions().Add(ctx, clock, u, "Firefox")
	if err != nil {
		return err
	}
	cs, err := tx.CompatSessions().Add(ctx, clock, u, "PHONE", browser, false)
	if err != nil {
		return err
	}
	if _, err := tx.CompatSessions().Finish(ctx, clock, cs); err != nil {
		return err
	}
	os, err := tx.OAuth2Sessions().Add(ctx, clock, client, u, browser, []string{"openid"})
	if err != nil {
		return err
	}
	at, err := tx.OAuth2Tokens().AddAccessToken(ctx, clock, os, fmt.Sprintf("oat_%s", u.ID), time.Hour)
	if err != nil {
		return err
	}
	if _, err := tx.OAuth2Tokens().RevokeAccessToken(ctx, clock, at); err != nil {
		return err
	}
	if _, err := tx.OAuth2Sessions().Finish(ctx, clock, os); err != nil {
		return err
	}
	if _, err := tx.UserSessions().Finish(ctx, clock, browser); err != nil {
		return err
	}
	blocked, err := tx.UserSessions().Add(ctx, clock, u, "Safari")
	if err != nil {
		return err
	}
	if _, err := tx.CompatSessions().Add(ctx, clock, u, "TABLET", blocked, false); err != nil {
		return err
	}
	_, err = tx.UserSessions().Finish(ctx, clock, blocked)
	return err
}

// BenchmarkRunAll runs every job over a populated store (rebuilt, untimed,
// each time).
func BenchmarkRunAll(b *testing.B) {
	for _, users := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			ctx := context.Background()
			affected := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				store, clock := benchPopulated(b, users)
				b.StartTimer()
				reports, err := cleanup.RunAll(ctx, store, clock, cleanup.Options{})
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range reports {
					affected += r.Affected
				}
			}
			b.ReportMetric(float64(affected)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkUserSessionCleanupBlocked is a whole browser-session job over
// `sessions` finished sessions of which 9 in 10 have a live compat child.
func BenchmarkUserSessionCleanupBlocked(b *testing.B) {
	job, err := cleanup.Lookup("cleanup-finished-user-sessions")
	if err != nil {
		b.Fatal(err)
	}
	for _, sessions := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			ctx := context.Background()
			scanned := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				store, clock := benchBlockedSessions(b, sessions)
				b.StartTimer()
				r, err := cleanup.Run(ctx, job, store, clock, cleanup.Options{BatchSize: 1000})
				if err != nil {
					b.Fatal(err)
				}
				if r.Affected != sessions/10 {
					b.Fatalf("affected %d, want %d", r.Affected, sessions/10)
				}
				scanned += r.Scanned
			}
			b.ReportMetric(float64(scanned)/b.Elapsed().Seconds(), "scanned/s")
		})
	}
}

func benchBlockedSessions(tb testing.TB, sessions int) (storage.Store, *storage.TestClock) {
	tb.Helper()
	store := memory.New()
	clock := storage.NewTestClock(benchStart)
	ctx := context.Background()
	err := store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
		u, err := tx.Users().Add(ctx, clock, "u")
		if err != nil {
			return err
		}
		for i := 0; i < sessions; i++ {
			clock.Advance(time.Millisecond)
			s, err := tx.UserSessions().Add(ctx, clock, u, "Firefox")
			if err != nil {
				return err
			}
			if i%10 != 0 {
				if _, err := tx.CompatSessions().Add(ctx, clock, u, fmt.Sprintf("D%d", i), s, false); err != nil {
					return err
				}
			}
			if _, err := tx.UserSessions().Finish(ctx, clock, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	clock.Advance(31 * 24 * time.Hour)
	return store, clock
}

// BenchmarkQueueReserve takes 10 jobs at a time from a queue of `jobs`
// available jobs (refilled, untimed, when it runs low).
func BenchmarkQueueReserve(b *testing.B) {
	for _, jobs := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			ctx := context.Background()
			var (
				store  storage.Store
				clock  *storage.TestClock
				worker *storage.Worker
				left   int
			)
			refill := func() {
				store = memory.New()
				clock = storage.NewTestClock(benchStart)
				var err error
				if worker, err = store.Queue().RegisterWorker(ctx, clock); err != nil {
					b.Fatal(err)
				}
				err = store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
					for i := 0; i < jobs; i++ {
						clock.Advance(time.Millisecond)
						if _, err := tx.Queue().Enqueue(ctx, clock, "email", nil); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				left = jobs
			}
			refill()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if left < 10 {
					b.StopTimer()
					refill()
					b.StartTimer()
				}
				got, err := store.Queue().Reserve(ctx, clock, worker, []string{"email"}, 10)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != 10 {
					b.Fatal(errors.New("reserved fewer than 10 jobs"))
				}
				left -= len(got)
			}
		})
	}
}
