package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/schema"
)

// readyTimeout bounds one /readyz check.
const readyTimeout = 5 * time.Second

// readiness returns the /readyz check: the database answers, and verify
// finds nothing that stops the jobs. Its error is the one-line reason.
func readiness(db *sql.DB, jobs []cleanup.Job, dsn string) func(context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := ping(ctx, db); err != nil {
			return fmt.Errorf("database unreachable: %s", scrub(err.Error(), dsn))
		}
		findings, err := schema.Verify(ctx, db)
		if err != nil {
			return fmt.Errorf("verify failed: %s", scrub(err.Error(), dsn))
		}
		unsafe := unsafeFor(jobs, findings)
		switch len(unsafe) {
		case 0:
			return nil
		case 1:
			return fmt.Errorf("the database is not safe for the jobs: %s", unsafe[0])
		default:
			return fmt.Errorf("the database is not safe for the jobs: %s (and %d more; run 'janitor verify')", unsafe[0], len(unsafe)-1)
		}
	}
}

// ping pings db through the connections a lost server left in the pool:
// each is found dead in turn, and the reason is the new connection's.
func ping(ctx context.Context, db *sql.DB) error {
	err := db.PingContext(ctx)
	for range 3 {
		if !errors.Is(err, driver.ErrBadConn) {
			break
		}
		err = db.PingContext(ctx)
	}
	return err
}

// opsHandler serves /metrics, /healthz (the process answers) and /readyz
// (ready reports nil), the last two as one line of text.
func opsHandler(m *metrics, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		if err := ready(req.Context()); err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: "+strings.Join(strings.Fields(err.Error()), " "))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// serveOps listens on addr and serves opsHandler until the server is
// closed. It logs the address it listens on (the port, when addr gave 0).
func serveOps(addr string, m *metrics, ready func(context.Context) error, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	srv := &http.Server{Handler: opsHandler(m, ready), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("serving /metrics, /healthz and /readyz", "addr", ln.Addr().String())
	return srv, nil
}
