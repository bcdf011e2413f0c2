package cleanup

import (
	"context"
	"time"

	"github.com/masstore/masstore/storage"
)

// runNamed runs the named job with its default retention and batchSize.
func runNamed(ctx context.Context, name string, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	job, err := Lookup(name)
	if err != nil {
		return Report{Job: name}, err
	}
	return Run(ctx, job, repo, clock, Options{BatchSize: batchSize})
}

// FinishedCompatSessions runs cleanup-finished-compat-sessions with its default retention.
func FinishedCompatSessions(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-finished-compat-sessions", repo, clock, batchSize)
}

// FinishedOAuth2Sessions runs cleanup-finished-oauth2-sessions with its default retention.
func FinishedOAuth2Sessions(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-finished-oauth2-sessions", repo, clock, batchSize)
}

// FinishedUserSessions runs cleanup-finished-user-sessions with its default retention.
func FinishedUserSessions(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-finished-user-sessions", repo, clock, batchSize)
}

// UpstreamOAuthSessions runs cleanup-upstream-oauth-sessions with its default retention.
func UpstreamOAuthSessions(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-upstream-oauth-sessions", repo, clock, batchSize)
}

// UpstreamOAuthLinks runs cleanup-upstream-oauth-links with its default retention.
func UpstreamOAuthLinks(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-upstream-oauth-links", repo, clock, batchSize)
}

// RevokedOAuthAccessTokens runs cleanup-revoked-oauth-access-tokens with its default retention.
func RevokedOAuthAccessTokens(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-revoked-oauth-access-tokens", repo, clock, batchSize)
}

// ExpiredOAuthAccessTokens runs cleanup-expired-oauth-access-tokens with its default retention.
func ExpiredOAuthAccessTokens(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-expired-oauth-access-tokens", repo, clock, batchSize)
}

// RevokedOAuthRefreshTokens runs cleanup-revoked-oauth-refresh-tokens with its default retention.
func RevokedOAuthRefreshTokens(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-revoked-oauth-refresh-tokens", repo, clock, batchSize)
}

// ConsumedOAuthRefreshTokens runs cleanup-consumed-oauth-refresh-tokens with its default retention.
func ConsumedOAuthRefreshTokens(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-consumed-oauth-refresh-tokens", repo, clock, batchSize)
}

// UserRegistrations runs cleanup-user-registrations with its default retention.
func UserRegistrations(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-user-registrations", repo, clock, batchSize)
}

// OAuthAuthorizationGrants runs cleanup-oauth-authorization-grants with its default retention.
func OAuthAuthorizationGrants(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-oauth-authorization-grants", repo, clock, batchSize)
}

// OAuthDeviceCodeGrants runs cleanup-oauth-device-code-grants with its default retention.
func OAuthDeviceCodeGrants(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-oauth-device-code-grants", repo, clock, batchSize)
}

// UserRecoverySessions runs cleanup-user-recovery-sessions with its default retention.
func UserRecoverySessions(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-user-recovery-sessions", repo, clock, batchSize)
}

// UserEmailAuthentications runs cleanup-user-email-authentications with its default retention.
func UserEmailAuthentications(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-user-email-authentications", repo, clock, batchSize)
}

// InactiveOAuth2SessionIPs runs cleanup-inactive-oauth2-session-ips with its default retention.
func InactiveOAuth2SessionIPs(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-inactive-oauth2-session-ips", repo, clock, batchSize)
}

// InactiveCompatSessionIPs runs cleanup-inactive-compat-session-ips with its default retention.
func InactiveCompatSessionIPs(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-inactive-compat-session-ips", repo, clock, batchSize)
}

// InactiveUserSessionIPs runs cleanup-inactive-user-session-ips with its default retention.
func InactiveUserSessionIPs(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-inactive-user-session-ips", repo, clock, batchSize)
}

// QueueJobs runs cleanup-queue-jobs with its default retention.
func QueueJobs(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-queue-jobs", repo, clock, batchSize)
}

// AbandonedCompatSSOLogins runs cleanup-abandoned-compat-sso-logins with its default retention.
func AbandonedCompatSSOLogins(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-abandoned-compat-sso-logins", repo, clock, batchSize)
}

// LostQueueJobs runs cleanup-lost-queue-jobs with its default retention.
func LostQueueJobs(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-lost-queue-jobs", repo, clock, batchSize)
}

// StaleQueueWorkers runs cleanup-stale-queue-workers with its default retention.
func StaleQueueWorkers(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-stale-queue-workers", repo, clock, batchSize)
}

// PruneStalePolicyData runs prune-stale-policy-data: it keeps the newest
// DefaultKeepPolicyData versions of the policy data.
func PruneStalePolicyData(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "prune-stale-policy-data", repo, clock, batchSize)
}

// ExpireInactiveSessions runs expire-inactive-sessions with time-to-live
// ttl (MinInactiveSessionTTL..MaxInactiveSessionTTL), doing what MAS does
// (every kind of session; sync-devices queue jobs).
func ExpireInactiveSessions(ctx context.Context, repo storage.Repository, clock storage.Clock, ttl time.Duration, batchSize int) (Report, error) {
	const name = "expire-inactive-sessions"
	job, err := Lookup(name)
	if err != nil {
		return Report{Job: name}, err
	}
	return Run(ctx, job, repo, clock, Options{BatchSize: batchSize, Retention: map[string]time.Duration{name: ttl}})
}

// RevokedPersonalSessions runs cleanup-revoked-personal-sessions with its default retention.
func RevokedPersonalSessions(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-revoked-personal-sessions", repo, clock, batchSize)
}

// RevokedPersonalAccessTokens runs cleanup-revoked-personal-access-tokens with its default retention.
func RevokedPersonalAccessTokens(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-revoked-personal-access-tokens", repo, clock, batchSize)
}

// InactivePersonalSessionIPs runs cleanup-inactive-personal-session-ips with its default retention.
func InactivePersonalSessionIPs(ctx context.Context, repo storage.Repository, clock storage.Clock, batchSize int) (Report, error) {
	return runNamed(ctx, "cleanup-inactive-personal-session-ips", repo, clock, batchSize)
}
