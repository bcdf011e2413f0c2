package schema

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MigrationStatus tells whether one migration is applied.
type MigrationStatus struct {
	Migration Migration
	// Applied is true when the database records the migration.
	Applied bool
	// AppliedAt is when it was applied; zero when pending.
	AppliedAt time.Time
}

// Status returns, in order, every embedded migration and whether db has it.
func Status(ctx context.Context, db *sql.DB) ([]MigrationStatus, error) {
	m, err := NewMigrator(db)
	if err != nil {
		return nil, err
	}
	return m.Status(ctx)
}

// Status returns, in order, every migration and whether the database has it.
// It fails like Migrate on a checksum mismatch or an unknown applied migration.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	applied, err := m.applied(ctx, m.db)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if err := m.check(applied); err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, 0, len(m.migrations))
	for _, mig := range m.migrations {
		a, ok := applied[mig.Version]
		out = append(out, MigrationStatus{Migration: mig, Applied: ok, AppliedAt: a.at})
	}
	return out, nil
}
