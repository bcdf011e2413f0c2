package cleanup_test

import (
	"context"
	"fmt"
	"time"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/memory"
)

// A finished compat session goes once its retention (30 days) has passed.
func ExampleFinishedCompatSessions() {
	ctx := context.Background()
	store := memory.New()
	clock := storage.NewTestClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))

	user, _ := store.Users().Add(ctx, clock, "alice")
	session, _ := store.CompatSessions().Add(ctx, clock, user, "PHONE", nil, false)
	_, _ = store.CompatSessions().Finish(ctx, clock, session)

	clock.Advance(29 * 24 * time.Hour)
	r, _ := cleanup.FinishedCompatSessions(ctx, store, clock, 1000)
	fmt.Println("after 29 days:", r.Affected)

	clock.Advance(2 * 24 * time.Hour)
	r, _ = cleanup.FinishedCompatSessions(ctx, store, clock, 1000)
	fmt.Println("after 31 days:", r.Affected)
	// Output:
	// after 29 days: 0
	// after 31 days: 1
}

// RunAll runs every job in the order that keeps back-channel logout working;
// options override retentions and bound the work.
func ExampleRunAll() {
	ctx := context.Background()
	store := memory.New()
	clock := storage.NewTestClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))

	user, _ := store.Users().Add(ctx, clock, "alice")
	browser, _ := store.UserSessions().Add(ctx, clock, user, "Firefox")
	_, _ = store.UserSessions().Finish(ctx, clock, browser)
	clock.Advance(8 * 24 * time.Hour)

	reports, err := cleanup.RunAll(ctx, store, clock, cleanup.Options{
		BatchSize: 500,
		Retention: map[string]time.Duration{"cleanup-finished-user-sessions": 7 * 24 * time.Hour},
	})
	if err != nil {
		fmt.Println(err)
	}
	for _, r := range reports {
		if r.Affected > 0 {
			fmt.Printf("%s: %d\n", r.Job, r.Affected)
		}
	}
	// Output:
	// cleanup-finished-user-sessions: 1
}
