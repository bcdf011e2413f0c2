package syn2mas

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/schema"
	"github.com/masstore/masstore/storage"
)

// MigrateOptions says what [Migrate] migrates and how.
type MigrateOptions struct {
	// Synapse is Synapse's configuration: its server_name is the server of
	// every local user ID, and the check phase reads it. Required.
	Synapse *SynapseConfig
	// MAS is MAS's configuration: its upstream providers are created in the
	// MAS database and map Synapse's auth providers. Required.
	MAS *MASConfig
	// IgnoreMissingAuthProviders skips the links to an auth provider no MAS
	// provider claims instead of failing on them, and downgrades the check
	// phase's unknown-provider error to a warning.
	IgnoreMissingAuthProviders bool
	// DryRun does everything, rebuilding MAS's constraints over the loaded
	// rows, then empties what it wrote. It takes only ACCESS SHARE locks on
	// Synapse, so it may run beside a live Synapse.
	DryRun bool
	// Progress, when set, is called as the migration goes (every 10 000
	// Synapse rows, at each kind of row, at each index rebuilt), on the
	// migration's goroutine: it should return quickly.
	Progress func(Progress)
}

// Report is what a migration did.
type Report struct {
	// Warnings are the check phase's warnings and the migration's own
	// ([CodeInvalidDeviceIP], [CodeAppserviceLocalpart]).
	Warnings Findings `json:"warnings"`
	// Kinds count the rows of each kind migrated and skipped.
	Kinds []KindProgress `json:"kinds"`
	// Rows is how many rows were written to each MAS table (before a dry
	// run emptied them).
	Rows map[string]int64 `json:"rows"`
	// Recovered reports that an earlier run had died half-way; its rows
	// were removed and MAS's schema restored before this run started.
	Recovered bool `json:"recovered"`
	// DryRun reports that the rows were written, checked and removed.
	DryRun bool `json:"dry_run"`
	// LoadTime and RestoreTime are how long loading the rows and rebuilding
	// the indexes and constraints (then analysing the tables) took.
	LoadTime    time.Duration `json:"load_ns"`
	RestoreTime time.Duration `json:"restore_ns"`
}

// CheckError is returned by [Migrate] when the check phase found errors;
// nothing was written.
type CheckError struct {
	// Findings are the check phase's findings, errors and warnings.
	Findings Findings
}

// Error lists the errors.
func (e *CheckError) Error() string {
	var msgs []string
	for _, f := range e.Findings.Errors() {
		msgs = append(msgs, f.String())
	}
	return "the checks found problems that must be fixed before migrating:\n  " + strings.Join(msgs, "\n  ")
}

// ErrSynapseInUse is returned (wrapped, with the table named) by [Migrate]
// when a Synapse table cannot be locked at once: Synapse is still running.
var ErrSynapseInUse = errors.New("synapse is still using its database (lock not available); stop Synapse first, or make a dry run")

// connectionsNeeded is how many MAS connections a migration holds at once: the
// one holding the advisory lock and one writer per table.
var connectionsNeeded = 1 + len(targetTables)

// Migrate moves the accounts of the Synapse database synapse into the MAS
// database mas, as MAS's `syn2mas migrate` does:
//
//  1. It takes the syn2mas advisory lock on mas ([ErrMigrationRunning]),
//     and if an earlier run died half-way, empties its rows and restores
//     MAS's schema (Report.Recovered).
//  2. It opens one SERIALIZABLE READ ONLY DEFERRABLE transaction on
//     synapse, checks that it is Synapse's ([ErrNotSynapseDatabase]) and
//     locks the six tables it reads, EXCLUSIVE and NOWAIT ([ErrSynapseInUse];
//     ACCESS SHARE for a dry run).
//  3. It refuses a MAS database whose tables have rows ([ErrTargetNotEmpty])
//     and runs the check phase: errors stop it ([*CheckError]), warnings
//     go into the report. Up to here nothing is written.
//  4. It brings mas's schema up to date ([schema.Migrate]) and creates the
//     MAS configuration's upstream providers that are missing.
//  5. It renames the eight target tables, drops their indexes and keys
//     (saving their definitions in mas), loads the rows with COPY over
//     eight connections, and rebuilds everything in one transaction.
//
// A row that cannot be carried over is a [*RowError]; then, as on any error
// after step 4, the loaded rows are removed and the schema restored before
// Migrate returns. If that cleanup cannot run (the process is killed, the
// connection lost), the next run does it. clock gives "now" (a device
// without tokens, a token never validated).
//
// mas must allow at least nine open connections.
func Migrate(ctx context.Context, synapse, mas *sql.DB, clock storage.Clock, opts MigrateOptions) (*Report, error) {
	if opts.Synapse == nil || opts.MAS == nil {
		return nil, errors.New("syn2mas: migrate needs both the Synapse and the MAS configuration")
	}
	if opts.Synapse.ServerName == "" {
		return nil, fmt.Errorf("syn2mas: %s: server_name is not set", strings.Join(opts.Synapse.Files, ", "))
	}
	if limit := mas.Stats().MaxOpenConnections; limit > 0 && limit < connectionsNeeded {
		return nil, fmt.Errorf("syn2mas: the MAS *sql.DB allows %d open connections; a migration needs %d", limit, connectionsNeeded)
	}
	now := clock.Now().UTC()
	if !idTime(now) {
		return nil, fmt.Errorf("syn2mas: the clock says %v, which no ULID can encode", now)
	}
	providers, err := providerMapping(opts.MAS)
	if err != nil {
		return nil, err
	}
	report := &Report{DryRun: opts.DryRun, Rows: map[string]int64{}}

	control, err := mas.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to the MAS database: %w", err)
	}
	defer control.Close()
	if err := lockTarget(ctx, control); err != nil {
		return nil, err
	}
	defer func() {
		ctx := context.WithoutCancel(ctx)
		_, _ = control.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, advisoryLockKey)
		_, _ = control.ExecContext(ctx, `RESET client_connection_check_interval`)
	}()
	if report.Recovered, err = loading(ctx, control); err != nil {
		return nil, err
	}
	if report.Recovered {
		if err := restoreTarget(ctx, control, emptyRows, nil); err != nil {
			return nil, fmt.Errorf("reset the half-done migration an earlier run left: %w", err)
		}
	}

	tx, err := openSynapse(ctx, synapse, opts.DryRun)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()

	if err := checkTargetEmpty(ctx, control); err != nil {
		return nil, err
	}
	findings := CheckSynapseConfig(opts.Synapse)
	masFindings, err := CheckAgainstMAS(opts.Synapse, opts.MAS)
	if err != nil {
		return nil, err
	}
	dbFindings, err := CheckDatabase(ctx, tx, opts.Synapse, opts.MAS, opts.IgnoreMissingAuthProviders)
	if err != nil {
		return nil, err
	}
	findings = append(append(findings, masFindings...), dbFindings...)
	if len(findings.Errors()) > 0 {
		return nil, &CheckError{Findings: findings}
	}
	report.Warnings = findings.Warnings()

	if err := schema.Migrate(ctx, mas); err != nil {
		return nil, fmt.Errorf("bring the MAS database's schema up to date: %w", err)
	}
	if err := syncProviders(ctx, control, clock, opts.MAS); err != nil {
		return nil, err
	}

	progress := newProgressTracker(opts.Progress)
	if err := progress.estimate(ctx, tx.Tx); err != nil {
		return nil, err
	}
	warnings := newWarningLog()
	if err := pauseTarget(ctx, control); err != nil {
		return nil, fmt.Errorf("prepare the MAS tables for loading: %w", err)
	}
	// From here on a failure must leave the schema restored.
	loaded := false
	defer func() {
		if !loaded {
			_ = restoreTarget(context.WithoutCancel(ctx), control, emptyRows, nil)
		}
	}()

	start := time.Now()
	writers, err := startWriters(ctx, mas)
	if err != nil {
		return nil, err
	}
	l := newLoader(tx.Tx, writers, opts.Synapse.ServerName, now, providers, opts.IgnoreMissingAuthProviders, progress, warnings)
	for _, phase := range []func(context.Context) error{l.loadUsers, l.loadThreepids, l.loadExternalIDs, l.loadDevicelessTokens, l.loadDevices} {
		if err := phase(writers.ctx); err != nil {
			return nil, writers.abort(err)
		}
	}
	l.users = nil // the user map is done with: let the restore have the memory
	if err := writers.finish(); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("end the synapse read transaction: %w", err)
	}
	report.LoadTime = time.Since(start)
	for _, table := range targetTables {
		report.Rows[table] = writers.rowCount(table)
	}

	start = time.Now()
	mode := keepRows
	if opts.DryRun {
		mode = checkThenEmpty
	}
	if err := restoreTarget(ctx, control, mode, progress.rebuilding); err != nil {
		return nil, fmt.Errorf("rebuild the MAS indexes and constraints: %w", err)
	}
	loaded = true
	if !opts.DryRun {
		// Fresh tables have no statistics: without them the first queries
		// MAS (or the cleanup jobs) runs on millions of rows plan badly.
		if _, err := control.ExecContext(ctx, `ANALYZE `+strings.Join(targetTables, ", ")); err != nil {
			return nil, fmt.Errorf("the rows are migrated, but analysing the MAS tables failed (run ANALYZE yourself): %w", err)
		}
	}
	report.RestoreTime = time.Since(start)
	report.Kinds = progress.snapshot(PhaseRestore, "").Kinds
	report.Warnings = append(report.Warnings, warnings.findings()...)
	return report, nil
}

// providerMapping maps each synapse_idp_id of MAS's configuration to its
// provider's ID.
func providerMapping(cfg *MASConfig) (map[string]ulid.ULID, error) {
	m := map[string]ulid.ULID{}
	for i, p := range cfg.UpstreamProviders {
		id, err := ulid.ParseStrict(p.ID)
		if err != nil {
			return nil, &ConfigError{File: cfg.File, Key: fmt.Sprintf("upstream_oauth2.providers[%d].id", i), Msg: fmt.Sprintf("%q is not a ULID", p.ID)}
		}
		if p.SynapseIDPID != "" {
			m[p.SynapseIDPID] = id
		}
	}
	return m, nil
}

// syncProviders creates the MAS configuration's upstream providers that the
// MAS database lacks, as `mas-cli config sync` would (never changing or
// deleting one): the links the migration writes reference them.
func syncProviders(ctx context.Context, conn *sql.Conn, clock storage.Clock, cfg *MASConfig) error {
	for i, p := range cfg.UpstreamProviders {
		id, _ := ulid.ParseStrict(p.ID) // checked by providerMapping
		key := fmt.Sprintf("upstream_oauth2.providers[%d]", i)
		for _, f := range []struct{ name, value string }{
			{"client_id", p.ClientID}, {"scope", p.Scope}, {"token_endpoint_auth_method", p.TokenEndpointAuthMethod},
		} {
			if f.value == "" {
				return &ConfigError{File: cfg.File, Key: key + "." + f.name, Msg: "required to create the provider"}
			}
		}
		_, err := conn.ExecContext(ctx, `
			INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, human_name, brand_name,
			    scope, client_id, token_endpoint_auth_method, created_at)
			VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), $5, $6, $7, $8)
			ON CONFLICT (upstream_oauth_provider_id) DO NOTHING`,
			ulidx.UUID(id), p.Issuer, p.HumanName, p.BrandName, p.Scope, p.ClientID, p.TokenEndpointAuthMethod, clock.Now())
		if err != nil {
			return fmt.Errorf("create MAS upstream provider %s: %w", p.ID, err)
		}
	}
	return nil
}
