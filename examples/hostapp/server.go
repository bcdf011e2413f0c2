// Package hostapp is a tiny identity server that embeds masstore the way a
// real one would: it owns its store, its clock and its scheduler, and calls
// the cleanup jobs itself. Its test shows how a host tests that wiring
// against the in-memory store and against PostgreSQL.
package hostapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/storage"
)

// Server is the identity server.
type Server struct {
	store storage.Store
	clock storage.Clock
	log   *slog.Logger
	// retention overrides MAS's defaults: this host keeps finished sessions
	// for 14 days.
	retention map[string]time.Duration
}

// New returns a server on store, telling time by clock.
func New(store storage.Store, clock storage.Clock, log *slog.Logger) *Server {
	return &Server{store: store, clock: clock, log: log, retention: map[string]time.Duration{
		"cleanup-finished-compat-sessions": 14 * 24 * time.Hour,
		"cleanup-finished-user-sessions":   14 * 24 * time.Hour,
	}}
}

// Login signs username in (creating the user the first time) and returns
// the new browser session.
func (s *Server) Login(ctx context.Context, username, userAgent string) (*storage.UserSession, error) {
	var session *storage.UserSession
	err := s.store.Transact(ctx, func(ctx context.Context, tx storage.Repository) error {
		user, err := tx.Users().FindByUsername(ctx, username)
		if errors.Is(err, storage.ErrNotFound) {
			user, err = tx.Users().Add(ctx, s.clock, username)
		}
		if err != nil {
			return err
		}
		session, err = tx.UserSessions().Add(ctx, s.clock, user, userAgent)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", username, err)
	}
	return session, nil
}

// SignInDevice gives a legacy client a compat session from a browser session.
func (s *Server) SignInDevice(ctx context.Context, browser *storage.UserSession, deviceID string) (*storage.CompatSession, error) {
	user, err := s.store.Users().Lookup(ctx, browser.UserID)
	if err != nil {
		return nil, err
	}
	return s.store.CompatSessions().Add(ctx, s.clock, user, deviceID, browser, false)
}

// Logout finishes a browser session.
func (s *Server) Logout(ctx context.Context, browser *storage.UserSession) error {
	_, err := s.store.UserSessions().Finish(ctx, s.clock, browser)
	return err
}

// Maintain runs every cleanup job once, in order, and logs what each did.
func (s *Server) Maintain(ctx context.Context) ([]cleanup.Report, error) {
	reports, err := cleanup.RunAll(ctx, s.store, s.clock, cleanup.Options{Retention: s.retention})
	for _, r := range reports {
		if r.Affected > 0 {
			s.log.Info("cleanup", "job", r.Job, "affected", r.Affected, "batches", r.Batches)
		}
	}
	return reports, err
}

// Serve is the server's own scheduler: it runs Maintain every interval until
// ctx ends. A failed run is logged and the next one tries again.
func (s *Server) Serve(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Maintain(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("maintenance failed", "err", err)
			}
		}
	}
}
