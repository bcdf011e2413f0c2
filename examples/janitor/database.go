package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/lib/pq" // the PostgreSQL driver
)

// databaseFlag registers --database-url on fs; its value falls back to
// DATABASE_URL.
func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database-url", "", "PostgreSQL connection URL (default $DATABASE_URL)")
}

// openDatabase opens and pings the database. Errors never show the password.
func openDatabase(ctx context.Context, flagValue string, env func(string) string) (*sql.DB, error) {
	dsn := flagValue
	if dsn == "" {
		dsn = env("DATABASE_URL")
	}
	if dsn == "" {
		return nil, errors.New("no database: pass --database-url or set DATABASE_URL")
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %s", redact(dsn), scrub(err.Error(), dsn))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %s", redact(dsn), scrub(err.Error(), dsn))
	}
	return db, nil
}

// redact returns the connection string with its password replaced.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// scrub removes the password of dsn from a message, wherever a driver put it.
func scrub(msg, dsn string) string {
	if pw := password(dsn); pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

func password(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}
