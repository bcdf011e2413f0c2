package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// expireQuery finishes, in ID order, the unfinished sessions of table last
// active before $2 that also meet where, strictly after the ID $3, at most
// $4 of them, at $1; it returns their IDs and users, in ID order.
func expireQuery(table, idColumn, where string) string {
	if where != "" {
		where = " AND " + where
	}
	return `
WITH candidates AS MATERIALIZED (
	SELECT ` + idColumn + ` AS id, user_id FROM ` + table + `
	WHERE finished_at IS NULL AND last_active_at < $2 AND ` + idColumn + ` > $3` + where + `
	ORDER BY ` + idColumn + `
	LIMIT $4
	FOR UPDATE SKIP LOCKED
), finished AS (
	UPDATE ` + table + ` SET finished_at = $1 WHERE ` + idColumn + ` IN (SELECT id FROM candidates)
	RETURNING 1
)
SELECT id, user_id FROM candidates ORDER BY id`
}

var (
	expireCompatSessions = expireQuery("compat_sessions", "compat_session_id", "")
	expireOAuth2Sessions = expireQuery("oauth2_sessions", "oauth2_session_id",
		"user_id IS NOT NULL AND oauth2_client_id IN (SELECT oauth2_client_id FROM oauth2_clients WHERE NOT is_static)")
	expireUserSessions = expireQuery("user_sessions", "user_session_id", "")
)

// expire runs one batch of an expireQuery.
func expire(ctx context.Context, ext sqlx.ExtContext, name, query string, clock storage.Clock, after storage.Cursor, before time.Time, limit int) (storage.Batch, []ulid.ULID, error) {
	if err := checkLimit(name, limit); err != nil {
		return storage.Batch{}, nil, err
	}
	rows, err := ext.QueryxContext(ctx, query, storage.Now(clock), storage.Horizon(before), key(after.ID), limit)
	if err != nil {
		return storage.Batch{}, nil, fmt.Errorf("%s: %w", name, translate(err))
	}
	defer rows.Close()
	b := storage.Batch{Cursor: after}
	var users []ulid.ULID
	seen := map[ulid.ULID]bool{}
	for rows.Next() {
		var id, user ulid.ULID
		if err := rows.Scan(idCol{&id}, idCol{&user}); err != nil {
			return storage.Batch{}, nil, fmt.Errorf("%s: %w", name, err)
		}
		b.Scanned++
		b.Affected++
		b.Cursor = storage.Cursor{ID: id}
		if !seen[user] {
			seen[user] = true
			users = append(users, user)
		}
	}
	if err := rows.Err(); err != nil {
		return storage.Batch{}, nil, fmt.Errorf("%s: %w", name, translate(err))
	}
	return b, users, nil
}

// ExpireInactive finishes unfinished compat sessions last active before `before`.
func (r compatSessions) ExpireInactive(ctx context.Context, clock storage.Clock, after storage.Cursor, before time.Time, limit int) (storage.Batch, []ulid.ULID, error) {
	return expire(ctx, r.ext, "expire inactive compat sessions", expireCompatSessions, clock, after, before, limit)
}

// ExpireInactive finishes unfinished OAuth 2.0 sessions of a user, of a
// client that is not static, last active before `before`.
func (r oauth2Sessions) ExpireInactive(ctx context.Context, clock storage.Clock, after storage.Cursor, before time.Time, limit int) (storage.Batch, []ulid.ULID, error) {
	return expire(ctx, r.ext, "expire inactive OAuth 2.0 sessions", expireOAuth2Sessions, clock, after, before, limit)
}

// ExpireInactive finishes unfinished browser sessions last active before `before`.
func (r userSessions) ExpireInactive(ctx context.Context, clock storage.Clock, after storage.Cursor, before time.Time, limit int) (storage.Batch, []ulid.ULID, error) {
	return expire(ctx, r.ext, "expire inactive browser sessions", expireUserSessions, clock, after, before, limit)
}
