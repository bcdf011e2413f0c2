package syn2mas

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Options says what [Check] inspects and how.
type Options struct {
	// SynapseConfigPaths are Synapse's configuration files and directories,
	// in the order Synapse is given them. At least one is required.
	SynapseConfigPaths []string
	// MASConfigPath is MAS's configuration file. Required.
	MASConfigPath string
	// SynapseDatabaseURI, when set, is the Synapse database to connect to
	// instead of the one Synapse's `database` section names.
	SynapseDatabaseURI string
	// IgnoreMissingAuthProviders turns the finding about users linked to a
	// provider Synapse does not configure ([CodeUnknownAuthProvider]) into a
	// warning with the same code, message and count. Nothing else changes.
	IgnoreMissingAuthProviders bool
	// LookupEnv reads libpq's environment variables; nil for os.LookupEnv.
	LookupEnv LookupEnv
}

// Check runs the whole check phase: it loads both configurations, checks
// Synapse's configuration alone and against MAS's, then connects to the
// Synapse database and checks it inside one read-only transaction.
//
// The findings come in that order. An error means a check could not run
// (unreadable or malformed configuration, unsupported or unreachable
// database, a database that is not Synapse's); no findings are returned then.
func Check(ctx context.Context, opts Options) (Findings, error) {
	if len(opts.SynapseConfigPaths) == 0 {
		return nil, errors.New("check: no Synapse configuration given")
	}
	if opts.MASConfigPath == "" {
		return nil, errors.New("check: no MAS configuration given")
	}
	syn, err := LoadSynapseConfig(opts.SynapseConfigPaths...)
	if err != nil {
		return nil, err
	}
	mas, err := LoadMASConfig(opts.MASConfigPath)
	if err != nil {
		return nil, err
	}
	fs := CheckSynapseConfig(syn)
	masFindings, err := CheckAgainstMAS(syn, mas)
	if err != nil {
		return nil, err
	}
	fs = append(fs, masFindings...)

	dsn := opts.SynapseDatabaseURI
	if dsn == "" {
		if dsn, err = SynapseDSN(syn, opts.LookupEnv); err != nil {
			return nil, err
		}
	}
	db, err := OpenDatabase(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	dbFindings, err := checkDatabaseReadOnly(ctx, db, syn, mas, opts.IgnoreMissingAuthProviders)
	if err != nil {
		return nil, err
	}
	return append(fs, dbFindings...), nil
}

// checkDatabaseReadOnly runs CheckDatabase in a read-only repeatable-read
// transaction: the counts come from one snapshot, and nothing can be written.
func checkDatabaseReadOnly(ctx context.Context, db *sqlx.DB, syn *SynapseConfig, mas *MASConfig, ignoreMissing bool) (Findings, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return CheckDatabase(ctx, tx, syn, mas, ignoreMissing)
}
