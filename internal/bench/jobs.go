package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/ulidx"
)

// boundJobs bounds the time of every job of the jobs scenario against its
// single statement.
const boundJobs = 1.3

// coveredJobs are the jobs the other scenarios measure (compat, oauth2,
// user-blocked, ip); the jobs scenario measures every other one.
var coveredJobs = []string{jobCompat, jobOAuth2, jobUserSessions, jobUserIPs, jobQueue}

// jobSpec is one job of the jobs scenario: its dataset of 2n rows of its
// table (n of them its candidates) and its single statement.
type jobSpec struct {
	name string // the job, as cleanup.Lookup knows it
	// short names the dataset (and so databases: keep it short).
	short string
	rows  func(n int) []string // the statements building the dataset
	// table is the job's table (with an alias when where needs one), where
	// its candidates: an SQL condition whose $1 is the horizon, or the
	// horizon's ID when byULID.
	table, where string
	byULID       bool
	// single is the single statement, when not DELETE FROM table WHERE
	// where; pending counts what is left to do, when not the rows of
	// table matching where.
	single, pending string
	// candidates and stays say what the dataset holds, for the title;
	// kept is how many rows stay, when not n.
	candidates, stays string
	kept              int
	// opts are the run's options beyond the batch sizes.
	opts cleanup.Options
}

// jobSpecs are the jobs of the jobs scenario, in the order of
// cleanup.AllJobs.
func jobSpecs() []jobSpec {
	specs := slices.Concat(sessionJobSpecs(), tokenJobSpecs(), ageJobSpecs(), ipJobSpecs(), extraJobSpecs())
	names := cleanup.Names()
	slices.SortFunc(specs, func(a, b jobSpec) int { return slices.Index(names, a.name) - slices.Index(names, b.name) })
	return specs
}

// sessionJobSpecs: the expiry of inactive sessions and the upstream logins
// and links.
func sessionJobSpecs() []jobSpec {
	return []jobSpec{
		{name: "expire-inactive-sessions", short: "expire", rows: expireRows, single: expireSingle, pending: expirePending,
			candidates: "compat, OAuth 2.0 and browser sessions (a third each) of as many users inactive since before the horizon, finished with a sync-devices job per user of a compat or OAuth 2.0 one",
			stays:      "active ones", opts: cleanup.Options{Retention: map[string]time.Duration{"expire-inactive-sessions": 30 * 24 * time.Hour}}},
		{name: "cleanup-upstream-oauth-sessions", short: "up_logins", rows: upstreamLoginsRows, byULID: true,
			table: "upstream_oauth_authorization_sessions", where: "user_session_id IS NULL AND upstream_oauth_authorization_session_id < $1",
			candidates: "upstream logins never completed, created before the horizon", stays: "completed into a browser session"},
		{name: "cleanup-upstream-oauth-links", short: "up_links", rows: upstreamLinksRows, byULID: true,
			table: "upstream_oauth_links", where: "user_id IS NULL AND upstream_oauth_link_id < $1",
			single: deleteWithChildren("upstream_oauth_links", "upstream_oauth_link_id", "user_id IS NULL AND upstream_oauth_link_id < $1",
				"upstream_oauth_authorization_sessions", "upstream_oauth_link_id"),
			candidates: "upstream links of no user created before the horizon, each with its upstream login", stays: "of a user"},
	}
}

// tokenJobSpecs: the OAuth 2.0 token cleanups.
func tokenJobSpecs() []jobSpec {
	const deletableConsumed = `rt.consumed_at IS NOT NULL AND rt.consumed_at < $1 AND (rt.next_oauth2_refresh_token_id IS NULL
		OR EXISTS (SELECT 1 FROM oauth2_refresh_tokens n WHERE n.oauth2_refresh_token_id = rt.next_oauth2_refresh_token_id AND n.consumed_at IS NOT NULL))`
	return []jobSpec{
		{name: "cleanup-revoked-oauth-access-tokens", short: "at_revoked", rows: accessTokensRows(staleOr(fresh), "c + interval '5 minutes'"),
			table: "oauth2_access_tokens", where: "revoked_at IS NOT NULL AND revoked_at < $1",
			candidates: "OAuth 2.0 access tokens revoked before the horizon, each paired with a refresh token", stays: "revoked in the last hour"},
		{name: "cleanup-expired-oauth-access-tokens", short: "at_expired", rows: accessTokensRows("NULL", staleOr(recent)),
			table: "oauth2_access_tokens", where: "expires_at IS NOT NULL AND expires_at < $1",
			candidates: "OAuth 2.0 access tokens expired before the horizon, each paired with a refresh token", stays: "expired since"},
		{name: "cleanup-revoked-oauth-refresh-tokens", short: "rt_revoked", rows: revokedRefreshTokensRows,
			table: "oauth2_refresh_tokens", where: "revoked_at IS NOT NULL AND revoked_at < $1",
			candidates: "OAuth 2.0 refresh tokens revoked before the horizon", stays: "revoked in the last hour"},
		{name: "cleanup-consumed-oauth-refresh-tokens", short: "rt_consumed", rows: consumedRefreshTokensRows,
			table: "oauth2_refresh_tokens rt", where: deletableConsumed,
			candidates: "OAuth 2.0 refresh tokens consumed before the horizon into a successor consumed since", stays: "successors"},
	}
}

// ageJobSpecs: the cleanups by ULID age alone, what goes with the rows
// going by cascade.
func ageJobSpecs() []jobSpec {
	return []jobSpec{
		{name: "cleanup-user-registrations", short: "registrations", rows: registrationsRows, byULID: true,
			table: "user_registrations", where: "user_registration_id < $1",
			candidates: "registrations created before the horizon, each with an email authentication and its code", stays: "created since"},
		{name: "cleanup-oauth-authorization-grants", short: "auth_grants", rows: authorizationGrantsRows, byULID: true,
			table: "oauth2_authorization_grants", where: "oauth2_authorization_grant_id < $1",
			candidates: "authorization grants created before the horizon", stays: "created since"},
		{name: "cleanup-oauth-device-code-grants", short: "device_grants", rows: deviceCodeGrantsRows, byULID: true,
			table: "oauth2_device_code_grant", where: "oauth2_device_code_grant_id < $1",
			candidates: "device-code grants created before the horizon", stays: "created since"},
		{name: "cleanup-user-recovery-sessions", short: "recovery", rows: recoverySessionsRows, byULID: true,
			table: "user_recovery_sessions", where: "user_recovery_session_id < $1",
			candidates: "account-recovery sessions created before the horizon, each with a ticket", stays: "created since"},
		{name: "cleanup-user-email-authentications", short: "email_auths", rows: emailAuthenticationsRows, byULID: true,
			table: "user_email_authentications", where: "user_email_authentication_id < $1",
			candidates: "email authentications created before the horizon, each with a code", stays: "created since"},
	}
}

// ipJobSpecs: clearing the IPs of compat, OAuth 2.0 and personal sessions.
func ipJobSpecs() []jobSpec {
	return []jobSpec{
		clearIPs("cleanup-inactive-oauth2-session-ips", "oauth2_ips", "oauth2_sessions", "OAuth 2.0", oauth2IPsRows),
		clearIPs("cleanup-inactive-compat-session-ips", "compat_ips", "compat_sessions", "compat", compatIPsRows),
		clearIPs("cleanup-inactive-personal-session-ips", "personal_ips", "personal_sessions", "personal", personalIPsRows),
	}
}

// clearIPs is the spec of the job clearing the IPs of table's sessions.
func clearIPs(name, short, table, kind string, rows func(int) []string) jobSpec {
	const where = "last_active_ip IS NOT NULL AND last_active_at IS NOT NULL AND last_active_at < $1"
	return jobSpec{name: name, short: short, rows: rows, table: table, where: where,
		single:     "UPDATE " + table + " SET last_active_ip = NULL WHERE " + where,
		candidates: "live " + kind + " sessions holding an IP, last active before the horizon", stays: "active since"}
}

// extraJobSpecs: the policy data, and the jobs this library adds.
func extraJobSpecs() []jobSpec {
	const revoked = "revoked_at IS NOT NULL AND revoked_at < $1"
	return []jobSpec{
		{name: "prune-stale-policy-data", short: "policy", rows: policyDataRows, byULID: true, table: "policy_data",
			where: fmt.Sprintf("policy_data_id < $1 AND policy_data_id < (SELECT policy_data_id FROM policy_data ORDER BY policy_data_id DESC OFFSET %d LIMIT 1)",
				cleanup.DefaultKeepPolicyData-1),
			candidates: "policy data versions older than the newest 10", stays: "newest, kept", kept: cleanup.DefaultKeepPolicyData},
		{name: "cleanup-abandoned-compat-sso-logins", short: "sso_logins", rows: ssoLoginsRows, byULID: true,
			table: "compat_sso_logins", where: "compat_session_id IS NULL AND compat_sso_login_id < $1",
			candidates: "compat SSO logins created before the horizon that never got a compat session", stays: "that did"},
		{name: "cleanup-lost-queue-jobs", short: "lost_jobs", rows: lostQueueJobsRows, byULID: true,
			table: "queue_jobs", where: "status = 'lost' AND queue_job_id < $1",
			candidates: "lost queue jobs created before the horizon, each retried", stays: "completed retries"},
		{name: "cleanup-stale-queue-workers", short: "workers", rows: queueWorkersRows, table: "queue_workers w",
			where: `(w.shutdown_at < $1 OR w.last_seen_at < $1)
				AND NOT EXISTS (SELECT 1 FROM queue_jobs j WHERE j.started_by = w.queue_worker_id)
				AND NOT EXISTS (SELECT 1 FROM queue_leader l WHERE l.queue_worker_id = w.queue_worker_id)`,
			candidates: "queue workers unseen since before the horizon (half of them shut down)", stays: "live, 1 in 5 running a job"},
		{name: "cleanup-revoked-personal-sessions", short: "ps_revoked", rows: revokedPersonalSessionsRows,
			table: "personal_sessions", where: revoked,
			single:     deleteWithChildren("personal_sessions", "personal_session_id", revoked, "personal_access_tokens", "personal_session_id"),
			candidates: "personal sessions revoked before the horizon, each with its token", stays: "revoked since (without a token)"},
		{name: "cleanup-revoked-personal-access-tokens", short: "pat_revoked", rows: revokedPersonalTokensRows,
			table: "personal_access_tokens", where: revoked,
			candidates: "personal access tokens revoked before the horizon", stays: "revoked since"},
	}
}

// deleteWithChildren is the single statement deleting table's rows matching
// where together with the rows of child whose childColumn names one.
func deleteWithChildren(table, idColumn, where, child, childColumn string) string {
	return fmt.Sprintf(`
WITH c AS MATERIALIZED (
	SELECT %[2]s AS id FROM %[1]s WHERE %[3]s
), children AS (
	DELETE FROM %[4]s WHERE %[5]s IN (SELECT id FROM c)
)
DELETE FROM %[1]s WHERE %[2]s IN (SELECT id FROM c)`, table, idColumn, where, child, childColumn)
}

// horizon is the job's horizon at benchNow under the spec's options.
func (s jobSpec) horizon() (time.Time, error) {
	job, err := cleanup.Lookup(s.name)
	if err != nil {
		return time.Time{}, err
	}
	return s.opts.HorizonOf(job, benchNow), nil
}

// arg is $1 of the single statement and of pending: the horizon, or its ID
// for a cleanup by ULID age.
func (s jobSpec) arg() (any, error) {
	h, err := s.horizon()
	if err != nil || !s.byULID {
		return h, err
	}
	return ulidx.UUID(ulidx.Horizon(h)), nil
}

// dataset is the spec's dataset at size n.
func (s jobSpec) dataset(n int) (dataset, error) {
	arg, err := s.arg()
	pending := s.pending
	if pending == "" {
		pending = "SELECT count(*) FROM " + s.table + " WHERE " + s.where
	}
	return dataset{name: fmt.Sprintf("%s_%d", s.short, n), statements: s.rows(n), pending: pending, arg: arg}, err
}

// singleQuery is the spec's single statement.
func (s jobSpec) singleQuery() string {
	if s.single != "" {
		return s.single
	}
	return "DELETE FROM " + s.table + " WHERE " + s.where
}

// title is the spec's section title at size n.
func (s jobSpec) title(n int) string {
	kept := s.kept
	if kept == 0 {
		kept = n
	}
	job, _ := cleanup.Lookup(s.name)
	return fmt.Sprintf("jobs: %s (retention %s): %d %s, and %d %s", s.name, formatRetention(s.opts.RetentionOf(job)), n, s.candidates, kept, s.stays)
}

// formatRetention writes a retention in whole days or hours when it is.
func formatRetention(d time.Duration) string {
	switch {
	case d == 0:
		return "none"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// jobs: every job no other scenario measures, against its single statement,
// as the janitor runs it by default (adaptive batches): one row a job.
func (b *bench) jobs(ctx context.Context) error {
	n := b.cfg.sizes.jobs
	var rows []jobRow
	var errs []error
	for _, s := range jobSpecs() {
		rs, err := b.measureJob(ctx, s, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		rows = append(rows, jobRow{job: s.name, single: rs[0], janitor: rs[1]})
	}
	title := fmt.Sprintf("jobs: every other job, %d candidates among %d rows each", n, 2*n)
	fmt.Fprintf(b.cfg.out, "\n### %s\n\n", title)
	printJobs(b.cfg.out, rows)
	return errors.Join(errs...)
}

// measureJob measures one job on its dataset of size n: its single
// statement, then the janitor's default variant; it returns both, with the
// ratio and goal of the second.
func (b *bench) measureJob(ctx context.Context, s jobSpec, n int) ([2]result, error) {
	var rs [2]result
	ds, err := s.dataset(n)
	if err != nil {
		return rs, err
	}
	t, err := b.template(ctx, ds)
	if err != nil {
		return rs, err
	}
	defer b.dropTemplate(ctx, ds)
	if t.expected != n {
		return rs, fmt.Errorf("dataset %s has %d candidates, want %d", ds.name, t.expected, n)
	}
	b.logf("%s", s.title(n))
	got, err := b.measureAll(ctx, ds, []variant{singleStatement(s.singleQuery(), ds.arg), b.jobVariant(s)})
	if err != nil {
		return rs, err
	}
	copy(rs[:], got)
	rs[1].ratio, rs[1].cpuRatio = timeRatio(rs[1], rs[0])
	rs[1].bound = boundJobs
	b.goals = append(b.goals, ratioGoal(s.name+": "+rs[1].variant+" time vs single statement", rs[1].ratio, rs[1].cpuRatio, boundJobs))
	return rs, nil
}

// jobRow is one job's line of the jobs table.
type jobRow struct {
	job             string
	single, janitor result
}

// printJobs prints the jobs scenario's table: per job, its single
// statement's time and the janitor's.
func printJobs(w io.Writer, rows []jobRow) {
	fmt.Fprintln(w, "| job | rows | single statement s | janitor s | rows/s | batches | batch p99 ms | ratio | goal | met |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
	for _, r := range rows {
		single, j := r.single, r.janitor
		goal, met := rowGoal(j)
		fmt.Fprintf(w, "| %s | %d | %.2f | %.2f | %.0f | %d | %s | %.2f | %s | %s |\n",
			r.job, j.rows, single.seconds(), j.seconds(), j.rate(), len(j.batches),
			formatMS(percentileMS(j.batches, 99)), j.ratio, goal, met)
	}
	runs := ""
	if len(rows) > 0 {
		runs = medianNote(rows[0].janitor.runs)
	}
	fmt.Fprintf(w, "\nratio: janitor seconds / single-statement seconds; janitor: cleanup.Run with the janitor's defaults (adaptive, 100ms target), each job on its own copy of its dataset%s.\n", runs)
}

// jobVariant is the spec's job as the janitor runs it by default: batches
// adapting to the target, under the spec's options.
func (b *bench) jobVariant(s jobSpec) variant {
	return masstoreWith(s.name, 1000, b.cfg.target, s.opts)
}

// masstoreWith is masstore's variant of the job run under opts, batch size
// `size`, adaptive when target is not zero.
func masstoreWith(jobName string, size int, target time.Duration, opts cleanup.Options) variant {
	return variant{name: engineVariantName("masstore", size, target, 0), run: func(ctx context.Context, db *sqlx.DB, _ string) (outcome, error) {
		job, err := cleanup.Lookup(jobName)
		if err != nil {
			return outcome{}, err
		}
		opts.BatchSize, opts.TargetBatchDuration = size, target
		return runEngine(ctx, job, db, opts)
	}}
}
