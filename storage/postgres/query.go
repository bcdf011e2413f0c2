package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// rowScanner is a *sqlx.Row or *sqlx.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanAll scans every row with scan and closes rows.
func scanAll[T any](rows *sqlx.Rows, scan func(rowScanner) (*T, error)) ([]*T, error) {
	defer rows.Close()
	var list []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return list, nil
}

// existsOr returns state when table has a row with that id, else
// ErrNotFound: why a conditional update matched nothing.
func existsOr(ctx context.Context, ext sqlx.ExtContext, table, idColumn string, id ulid.ULID, state error) error {
	var exists bool
	err := ext.QueryRowxContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM `+table+` WHERE `+idColumn+` = $1)`, key(id)).Scan(&exists)
	switch {
	case err != nil:
		return translate(err)
	case !exists:
		return storage.ErrNotFound
	default:
		return state
	}
}
