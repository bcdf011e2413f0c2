// Package cleanup holds the retention jobs of Matrix Authentication Service
// as pure functions: each takes a repository, a clock and options, deletes (or,
// for IP addresses, clears; for inactive sessions, finishes) what has been
// stale for longer than its retention, batch by batch, and returns a report.
// There are no goroutines, tickers or SQL here: the host's scheduler decides
// when a job runs, and the repository (storage/postgres or storage/memory)
// how a batch is done.
//
// A job is data ([Job]): its name, what it deletes, its default retention and
// cadence, and the repository method it drives (or, for the jobs that need
// the run's time or options, its steps). One engine ([Run]) runs any job: it
// reads the clock once, computes the horizon, calls the method batch after
// batch with the cursor the last batch returned, and stops when a batch comes
// back short, when a limit is reached, or when the context ends. With
// Options.WindowSize, the jobs that have a window ([Job].Window) read that
// many candidates ahead and delete them batch by batch in ID order.
//
// # The jobs
//
// [Jobs] lists MAS main's 20 scheduled jobs (source: MAS), [ExtraJobs] the 6
// this library adds for what MAS never cleans (source: beyond MAS); [AllJobs]
// is both, in the order RunAll runs them:
//
//	expire-inactive-sessions               MAS         finish sessions inactive past the TTL (off until given one)
//	cleanup-finished-compat-sessions       MAS         compat sessions finished 30d ago, with tokens and SSO logins
//	cleanup-finished-oauth2-sessions       MAS         OAuth 2.0 sessions finished 30d ago, with tokens and grants
//	cleanup-finished-user-sessions         MAS         browser sessions finished 30d ago that no session references
//	cleanup-upstream-oauth-sessions        MAS         upstream logins 7d old without a browser session
//	cleanup-upstream-oauth-links           MAS         upstream links 7d old without a user, with their logins
//	cleanup-revoked-oauth-access-tokens    MAS         OAuth 2.0 access tokens revoked 1h ago
//	cleanup-expired-oauth-access-tokens    MAS         OAuth 2.0 access tokens expired 30d ago
//	cleanup-revoked-oauth-refresh-tokens   MAS         OAuth 2.0 refresh tokens revoked 1h ago
//	cleanup-consumed-oauth-refresh-tokens  MAS         consumed refresh tokens 1h ago whose successor is not live
//	cleanup-user-registrations             MAS         registrations 30d old, with their email authentications
//	cleanup-oauth-authorization-grants     MAS         authorization grants 7d old
//	cleanup-oauth-device-code-grants       MAS         device-code grants 7d old
//	cleanup-user-recovery-sessions         MAS         recovery sessions 7d old, with their tickets
//	cleanup-user-email-authentications     MAS         email authentications 7d old, with their codes
//	cleanup-inactive-oauth2-session-ips    MAS         IPs of OAuth 2.0 sessions inactive 30d
//	cleanup-inactive-compat-session-ips    MAS         IPs of compat sessions inactive 30d
//	cleanup-inactive-user-session-ips      MAS         IPs of browser sessions inactive 30d
//	cleanup-queue-jobs                     MAS         completed and failed queue jobs 30d old
//	prune-stale-policy-data                MAS         policy data but the newest 10
//	cleanup-abandoned-compat-sso-logins    beyond MAS  SSO logins 7d old that never got a session
//	cleanup-lost-queue-jobs                beyond MAS  lost queue jobs 30d old
//	cleanup-stale-queue-workers            beyond MAS  workers unseen 7d that no job names and that do not lead
//	cleanup-revoked-personal-sessions      beyond MAS  personal sessions revoked 30d ago, with their tokens
//	cleanup-revoked-personal-access-tokens beyond MAS  personal access tokens revoked 30d ago
//	cleanup-inactive-personal-session-ips  beyond MAS  IPs of personal sessions inactive 30d
//
// expire-inactive-sessions is [Job].Optional: it runs only once
// Options.Retention gives it a time-to-live. Its queue jobs (sync-devices,
// what MAS expects) can be switched off or replaced
// (Options.InactiveSessions).
//
// # Foreign keys
//
// No batch fails, and no job stops, because a row references a candidate.
// These are all the foreign keys of MAS main's schema (schema/catalog) that
// point at a table some job deletes from, and what the job does about each.
// "With it": the referencing row is deleted in the same statement. "Unlinked":
// its reference is nulled (by the key's ON DELETE SET NULL, or by the job).
// "Skipped": the candidate stays, the cursor moves past it, and the rest of
// the batch is deleted. Each has a case in the conformance suite
// (storage/storagetest, references.go), run on both backends.
//
//	into user_sessions (cleanup-finished-user-sessions)
//	  user_session_authentications_user_session_id_fkey            with it
//	  compat_sessions_user_session_id_fkey                         skipped (a back-channel logout must reach the child)
//	  oauth2_sessions_user_session_id_fkey                         skipped (likewise)
//	  compat_sso_logins_user_session_id_fkey                       with it (CASCADE)
//	  oauth2_authorization_grants_user_session_id_fkey             unlinked
//	  oauth2_device_code_grant_user_session_id_fkey                unlinked (by the job: the key is NO ACTION)
//	  upstream_oauth_authorization_sessions_user_session_id_fkey   unlinked
//	  user_email_authentications_user_session_id_fkey              unlinked
//	into compat_sessions (cleanup-finished-compat-sessions)
//	  compat_access_tokens_compat_session_id_fkey                  with it
//	  compat_refresh_tokens_compat_session_id_fkey                 with it
//	  compat_sso_logins_compat_session_id_fkey                     with it
//	into compat_access_tokens (with their compat session)
//	  compat_refresh_tokens_compat_access_token_id_fkey            with it
//	into oauth2_sessions (cleanup-finished-oauth2-sessions)
//	  oauth2_access_tokens_oauth2_session_id_fkey (both token tables) with it
//	  tbl_oauth2_session_fkey                                      with it (authorization grants)
//	  oauth2_device_code_grant_oauth2_session_id_fkey              with it (CASCADE)
//	into oauth2_access_tokens (cleanup-revoked-/expired-oauth-access-tokens)
//	  oauth2_refresh_tokens_oauth2_access_token_id_fkey            unlinked
//	into oauth2_refresh_tokens (cleanup-revoked-/consumed-oauth-refresh-tokens)
//	  oauth2_refresh_tokens_next_oauth2_refresh_token_id_fkey      unlinked (a consumed token whose successor is live is not a candidate)
//	into upstream_oauth_authorization_sessions (cleanup-upstream-oauth-sessions, -links)
//	  user_session_authentications_upstream_oauth_authorization__fkey unlinked
//	  user_registrations_upstream_oauth_authorization_session_id_fkey unlinked
//	into upstream_oauth_links (cleanup-upstream-oauth-links)
//	  upstream_oauth_authorization_sessions_link_fkey              with it
//	into user_recovery_sessions (cleanup-user-recovery-sessions)
//	  user_recovery_tickets_user_recovery_session_id_fkey          with it (CASCADE)
//	into user_registrations (cleanup-user-registrations)
//	  user_email_authentications_user_registration_id_fkey         with it (CASCADE, and their codes)
//	into user_email_authentications (cleanup-user-email-authentications)
//	  user_email_authentication_cod_user_email_authentication_id_fkey with it (CASCADE)
//	  user_registrations_email_authentication_id_fkey              unlinked
//	into queue_jobs (cleanup-queue-jobs, cleanup-lost-queue-jobs)
//	  queue_jobs_next_attempt_id_fkey                              unlinked
//	  queue_schedules_last_scheduled_job_id_fkey                   unlinked
//	into queue_workers (cleanup-stale-queue-workers)
//	  queue_jobs_started_by_fkey                                   skipped (the worker stays while a job names it)
//	  queue_leader_queue_worker_id_fkey                            skipped (the leader stays until it shuts down)
//	into personal_sessions (cleanup-revoked-personal-sessions)
//	  personal_access_tokens_personal_session_id_fkey              with it
//
// Nothing references user_session_authentications, compat_sso_logins,
// oauth2_authorization_grants, oauth2_device_code_grant,
// user_recovery_tickets, user_email_authentication_codes,
// personal_access_tokens or policy_data. expire-inactive-sessions deletes
// nothing: it finishes sessions and inserts queue jobs.
package cleanup
