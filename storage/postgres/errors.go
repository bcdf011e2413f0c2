package postgres

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/masstore/masstore/storage"
)

// SQLSTATE codes the backend maps onto storage's sentinels.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// translate maps a driver error of a read, insert or update onto the storage
// sentinels, keeping the driver error in the chain so that callers can still
// see the constraint it names:
//
//   - no rows: ErrNotFound;
//   - a unique violation: ErrConflict;
//   - a foreign-key violation: ErrNotFound (an insert or update named a row
//     that does not exist).
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	switch sqlState(err) {
	case codeUniqueViolation:
		return fmt.Errorf("%w: %w", storage.ErrConflict, err)
	case codeForeignKeyViolation:
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	return err
}

// translateDelete maps a driver error of a cleanup. A foreign-key violation
// there means a row still references one the batch deletes: a defect of the
// statement, not a missing row, so it is passed through unmapped.
func translateDelete(err error) error {
	if err == nil || sqlState(err) == codeForeignKeyViolation {
		return err
	}
	return translate(err)
}

// sqlState returns the SQLSTATE of a PostgreSQL error, or "".
func sqlState(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return string(pqErr.Code)
	}
	return ""
}

// noRows reports whether a conditional update matched no row. A missing
// referenced row (a foreign-key violation, also ErrNotFound) is not that.
func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// nilArg is the error of a method given a nil row it needs.
func nilArg(op, what string) error {
	return fmt.Errorf("%s: nil %s: %w", op, what, storage.ErrInvalidArgument)
}
