package storage_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/memory"
)

// Repositories take the clock as an argument: tests and what-if runs decide
// what "now" is.
func ExampleTestClock() {
	ctx := context.Background()
	store := memory.New()
	clock := storage.NewTestClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))

	user, _ := store.Users().Add(ctx, clock, "alice")
	session, _ := store.UserSessions().Add(ctx, clock, user, "Firefox")
	clock.Advance(time.Hour)
	session, _ = store.UserSessions().Finish(ctx, clock, session)
	fmt.Println("finished after", session.FinishedAt.Sub(session.CreatedAt))

	_, err := store.UserSessions().Finish(ctx, clock, session)
	fmt.Println(errors.Is(err, storage.ErrAlreadyFinished))
	// Output:
	// finished after 1h0m0s
	// true
}

// Transact makes several changes one: an error rolls all of them back.
func ExampleStore_transact() {
	ctx := context.Background()
	store := memory.New()
	clock := storage.NewTestClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))

	err := store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
		if _, err := tx.Users().Add(ctx, clock, "alice"); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	fmt.Println(err)
	_, err = store.Users().FindByUsername(ctx, "alice")
	fmt.Println(errors.Is(err, storage.ErrNotFound))
	// Output:
	// changed my mind
	// true
}
