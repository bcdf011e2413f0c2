package cleanup

import (
	"context"
	"fmt"
	"time"

	"github.com/masstore/masstore/storage"
)

// IPAudit counts, for one table, the rows still holding an IP address older
// than the retention of the job that should have removed it.
type IPAudit struct {
	Table  string
	Column string
	// Job is the job that clears (or deletes) these IPs.
	Job       string
	Retention time.Duration
	Horizon   time.Time
	// Stale counts rows holding an IP whose time is before Horizon.
	Stale int
}

// ipSources lists every place an IP address is kept, with the job that
// removes it.
var ipSources = []struct {
	table, column, job string
	count              func(storage.Repository) storage.CountFunc
}{
	{"user_sessions", "last_active_ip", "cleanup-inactive-user-session-ips", func(r storage.Repository) storage.CountFunc { return r.UserSessions().CountStaleIPs }},
	{"compat_sessions", "last_active_ip", "cleanup-inactive-compat-session-ips", func(r storage.Repository) storage.CountFunc { return r.CompatSessions().CountStaleIPs }},
	{"oauth2_sessions", "last_active_ip", "cleanup-inactive-oauth2-session-ips", func(r storage.Repository) storage.CountFunc { return r.OAuth2Sessions().CountStaleIPs }},
	{"user_recovery_sessions", "ip_address", "cleanup-user-recovery-sessions", func(r storage.Repository) storage.CountFunc { return r.Recovery().CountStaleIPs }},
	{"user_registrations", "ip_address", "cleanup-user-registrations", func(r storage.Repository) storage.CountFunc { return r.Registrations().CountStaleIPs }},
	{"personal_sessions", "last_active_ip", "cleanup-inactive-personal-session-ips", func(r storage.Repository) storage.CountFunc { return r.PersonalSessions().CountStaleIPs }},
	{"oauth2_device_code_grant", "ip_address", "cleanup-oauth-device-code-grants", func(r storage.Repository) storage.CountFunc { return r.OAuth2Grants().CountStaleDeviceCodeGrantIPs }},
}

// AuditIPs is a privacy audit: per table, how many rows still hold an IP
// address older than its retention (opts.Retention overrides apply; the other
// options are ignored). After a full run of the jobs every count is zero.
func AuditIPs(ctx context.Context, repo storage.Repository, clock storage.Clock, opts Options) ([]IPAudit, error) {
	now, err := check(nil, repo, clock, opts)
	if err != nil {
		return nil, err
	}
	out := make([]IPAudit, 0, len(ipSources))
	for _, src := range ipSources {
		job, err := Lookup(src.job)
		if err != nil {
			return nil, err
		}
		a := IPAudit{Table: src.table, Column: src.column, Job: src.job, Retention: opts.RetentionOf(job), Horizon: opts.HorizonOf(job, now)}
		if a.Stale, err = src.count(repo)(ctx, a.Horizon); err != nil {
			return out, fmt.Errorf("audit %s.%s: %w", src.table, src.column, err)
		}
		out = append(out, a)
	}
	return out, nil
}
