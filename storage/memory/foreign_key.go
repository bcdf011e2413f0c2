package memory

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// errForeignKey is what a delete that would leave a NO ACTION reference
// dangling fails with, as PostgreSQL's foreign_key_violation would. Cleanups
// unlink or delete what references their rows first, so they never hit it.
var errForeignKey = errors.New("foreign key violation")

// fkAction is a foreign key's ON DELETE action.
type fkAction int

const (
	noAction fkAction = iota
	cascade
	setNull
)

// idSet is a set of row IDs.
type idSet map[ulid.ULID]bool

// foreignKey is one foreign key of schema/catalog/constraints.tsv whose
// referenced table some operation deletes from.
type foreignKey struct {
	name   string
	child  string
	parent string
	action fkAction
	// index declares the key on the child table of st, which then keeps a
	// reverse index of it (newState calls it).
	index func(st *state)
	// apply visits the child rows referencing a row of parents: with setNull
	// it nulls the reference; otherwise it returns those rows' IDs.
	apply func(st *state, parents idSet) []ulid.ULID
	// holds returns the key of a child row still referencing a row of
	// parents, if any: the NO ACTION check, whatever the child's key.
	holds func(st *state, parents idSet) (any, bool)
}

// fk declares the foreign key name from the column ref points at in the rows
// of child (which tbl selects) to parent.
func fk[K comparable, V any](name, child, parent string, action fkAction, tbl func(*state) *table[K, V], ref func(*V) *ulid.ULID) foreignKey {
	index := func(st *state) {
		tbl(st).references(name, func(v V) ulid.ULID { return *ref(&v) })
	}
	apply := func(st *state, parents idSet) []ulid.ULID {
		t := tbl(st)
		hits := t.referencing(name, slices.Collect(maps.Keys(parents))...)
		var ids []ulid.ULID
		for _, k := range hits {
			v := t.rows[k]
			if action == setNull {
				*ref(&v) = ulid.ULID{}
				t.record(k)
				t.set(k, v, true)
				continue
			}
			// Only ULID-keyed tables are deleted from by CASCADE;
			// queue_schedules is only ever nulled, queue_leader only
			// checked (holds).
			if id, ok := any(k).(ulid.ULID); ok {
				ids = append(ids, id)
			}
		}
		return ids
	}
	holds := func(st *state, parents idSet) (any, bool) {
		hits := tbl(st).referencing(name, slices.Collect(maps.Keys(parents))...)
		if len(hits) == 0 {
			return nil, false
		}
		return hits[0], true
	}
	return foreignKey{name: name, child: child, parent: parent, action: action, index: index, apply: apply, holds: holds}
}

// The foreign keys the operations follow from a parent row to its children
// (through table.referencing), by name.
const (
	fkAuthUserSession        = "user_session_authentications_user_session_id_fkey"
	fkCompatUserSession      = "compat_sessions_user_session_id_fkey"
	fkSSOLoginCompatSession  = "compat_sso_logins_compat_session_id_fkey"
	fkCompatAccessSession    = "compat_access_tokens_compat_session_id_fkey"
	fkCompatRefreshSession   = "compat_refresh_tokens_compat_session_id_fkey"
	fkOAuth2UserSession      = "oauth2_sessions_user_session_id_fkey"
	fkOAuth2TokenSession     = "oauth2_access_tokens_oauth2_session_id_fkey" // both token tables' (sic)
	fkAuthGrantSession       = "tbl_oauth2_session_fkey"
	fkDeviceGrantUserSession = "oauth2_device_code_grant_user_session_id_fkey"
	fkUpstreamSessionLink    = "upstream_oauth_authorization_sessions_link_fkey"
	fkJobStartedBy           = "queue_jobs_started_by_fkey"
	fkLeaderWorker           = "queue_leader_queue_worker_id_fkey"
	fkPersonalTokenSession   = "personal_access_tokens_personal_session_id_fkey"
)

// foreignKeys are the foreign keys into every table something deletes from
// (users, user_emails, user_passwords, providers and clients are never
// deleted, so neither are the user_terms and third-party IDs that would
// cascade with a user), with their ON DELETE actions as in constraints.tsv.
var foreignKeys = []foreignKey{
	fk(fkAuthUserSession, tAuthentications, tUserSessions, noAction,
		func(st *state) *table[ulid.ULID, storage.Authentication] { return st.authentications },
		func(v *storage.Authentication) *ulid.ULID { return &v.UserSessionID }),
	fk("user_session_authentications_upstream_oauth_authorization__fkey", tAuthentications, tUpstreamSessions, setNull,
		func(st *state) *table[ulid.ULID, storage.Authentication] { return st.authentications },
		func(v *storage.Authentication) *ulid.ULID { return &v.UpstreamSessionID }),
	fk(fkCompatUserSession, tCompatSessions, tUserSessions, noAction,
		func(st *state) *table[ulid.ULID, storage.CompatSession] { return st.compatSessions },
		func(v *storage.CompatSession) *ulid.ULID { return &v.UserSessionID }),
	fk(fkSSOLoginCompatSession, tCompatSSOLogins, tCompatSessions, setNull,
		func(st *state) *table[ulid.ULID, storage.CompatSSOLogin] { return st.compatSSOLogins },
		func(v *storage.CompatSSOLogin) *ulid.ULID { return &v.SessionID }),
	fk("compat_sso_logins_user_session_id_fkey", tCompatSSOLogins, tUserSessions, cascade,
		func(st *state) *table[ulid.ULID, storage.CompatSSOLogin] { return st.compatSSOLogins },
		func(v *storage.CompatSSOLogin) *ulid.ULID { return &v.UserSessionID }),
	fk(fkCompatAccessSession, tCompatAccessTokens, tCompatSessions, noAction,
		func(st *state) *table[ulid.ULID, storage.CompatAccessToken] { return st.compatAccess },
		func(v *storage.CompatAccessToken) *ulid.ULID { return &v.SessionID }),
	fk("compat_refresh_tokens_compat_access_token_id_fkey", tCompatRefreshTokens, tCompatAccessTokens, noAction,
		func(st *state) *table[ulid.ULID, storage.CompatRefreshToken] { return st.compatRefresh },
		func(v *storage.CompatRefreshToken) *ulid.ULID { return &v.AccessTokenID }),
	fk(fkCompatRefreshSession, tCompatRefreshTokens, tCompatSessions, noAction,
		func(st *state) *table[ulid.ULID, storage.CompatRefreshToken] { return st.compatRefresh },
		func(v *storage.CompatRefreshToken) *ulid.ULID { return &v.SessionID }),
	fk(fkOAuth2UserSession, tOAuth2Sessions, tUserSessions, noAction,
		func(st *state) *table[ulid.ULID, storage.OAuth2Session] { return st.oauth2Sessions },
		func(v *storage.OAuth2Session) *ulid.ULID { return &v.UserSessionID }),
	fk(fkOAuth2TokenSession, tOAuth2AccessTokens, tOAuth2Sessions, noAction,
		func(st *state) *table[ulid.ULID, storage.OAuth2AccessToken] { return st.oauth2Access },
		func(v *storage.OAuth2AccessToken) *ulid.ULID { return &v.SessionID }),
	// MAS names this one like the access tokens' (sic).
	fk(fkOAuth2TokenSession, tOAuth2RefreshTokens, tOAuth2Sessions, noAction,
		func(st *state) *table[ulid.ULID, storage.OAuth2RefreshToken] { return st.oauth2Refresh },
		func(v *storage.OAuth2RefreshToken) *ulid.ULID { return &v.SessionID }),
	fk("oauth2_refresh_tokens_next_oauth2_refresh_token_id_fkey", tOAuth2RefreshTokens, tOAuth2RefreshTokens, setNull,
		func(st *state) *table[ulid.ULID, storage.OAuth2RefreshToken] { return st.oauth2Refresh },
		func(v *storage.OAuth2RefreshToken) *ulid.ULID { return &v.NextID }),
	fk("oauth2_refresh_tokens_oauth2_access_token_id_fkey", tOAuth2RefreshTokens, tOAuth2AccessTokens, setNull,
		func(st *state) *table[ulid.ULID, storage.OAuth2RefreshToken] { return st.oauth2Refresh },
		func(v *storage.OAuth2RefreshToken) *ulid.ULID { return &v.AccessTokenID }),
	fk("oauth2_authorization_grants_user_session_id_fkey", tAuthorizationGrants, tUserSessions, setNull,
		func(st *state) *table[ulid.ULID, storage.OAuth2AuthorizationGrant] { return st.authGrants },
		func(v *storage.OAuth2AuthorizationGrant) *ulid.ULID { return &v.UserSessionID }),
	fk(fkAuthGrantSession, tAuthorizationGrants, tOAuth2Sessions, noAction,
		func(st *state) *table[ulid.ULID, storage.OAuth2AuthorizationGrant] { return st.authGrants },
		func(v *storage.OAuth2AuthorizationGrant) *ulid.ULID { return &v.SessionID }),
	fk("oauth2_device_code_grant_oauth2_session_id_fkey", tDeviceCodeGrants, tOAuth2Sessions, cascade,
		func(st *state) *table[ulid.ULID, storage.OAuth2DeviceCodeGrant] { return st.deviceGrants },
		func(v *storage.OAuth2DeviceCodeGrant) *ulid.ULID { return &v.SessionID }),
	fk(fkDeviceGrantUserSession, tDeviceCodeGrants, tUserSessions, noAction,
		func(st *state) *table[ulid.ULID, storage.OAuth2DeviceCodeGrant] { return st.deviceGrants },
		func(v *storage.OAuth2DeviceCodeGrant) *ulid.ULID { return &v.UserSessionID }),
	fk(fkUpstreamSessionLink, tUpstreamSessions, tUpstreamLinks, noAction,
		func(st *state) *table[ulid.ULID, storage.UpstreamOAuthSession] { return st.upstreamSessions },
		func(v *storage.UpstreamOAuthSession) *ulid.ULID { return &v.LinkID }),
	fk("upstream_oauth_authorization_sessions_user_session_id_fkey", tUpstreamSessions, tUserSessions, setNull,
		func(st *state) *table[ulid.ULID, storage.UpstreamOAuthSession] { return st.upstreamSessions },
		func(v *storage.UpstreamOAuthSession) *ulid.ULID { return &v.UserSessionID }),
	fk("user_recovery_tickets_user_recovery_session_id_fkey", tRecoveryTickets, tRecoverySessions, cascade,
		func(st *state) *table[ulid.ULID, storage.RecoveryTicket] { return st.recoveryTickets },
		func(v *storage.RecoveryTicket) *ulid.ULID { return &v.SessionID }),
	fk("user_email_authentications_user_registration_id_fkey", tEmailAuthentications, tRegistrations, cascade,
		func(st *state) *table[ulid.ULID, storage.EmailAuthentication] { return st.emailAuths },
		func(v *storage.EmailAuthentication) *ulid.ULID { return &v.RegistrationID }),
	fk("user_email_authentications_user_session_id_fkey", tEmailAuthentications, tUserSessions, setNull,
		func(st *state) *table[ulid.ULID, storage.EmailAuthentication] { return st.emailAuths },
		func(v *storage.EmailAuthentication) *ulid.ULID { return &v.UserSessionID }),
	fk("user_email_authentication_cod_user_email_authentication_id_fkey", tEmailAuthenticationCodes, tEmailAuthentications, cascade,
		func(st *state) *table[ulid.ULID, storage.EmailAuthenticationCode] { return st.emailAuthCodes },
		func(v *storage.EmailAuthenticationCode) *ulid.ULID { return &v.AuthenticationID }),
	fk("user_registrations_email_authentication_id_fkey", tRegistrations, tEmailAuthentications, setNull,
		func(st *state) *table[ulid.ULID, storage.Registration] { return st.registrations },
		func(v *storage.Registration) *ulid.ULID { return &v.EmailAuthenticationID }),
	fk("user_registrations_upstream_oauth_authorization_session_id_fkey", tRegistrations, tUpstreamSessions, setNull,
		func(st *state) *table[ulid.ULID, storage.Registration] { return st.registrations },
		func(v *storage.Registration) *ulid.ULID { return &v.UpstreamSessionID }),
	fk("queue_jobs_next_attempt_id_fkey", tQueueJobs, tQueueJobs, setNull,
		func(st *state) *table[ulid.ULID, storage.Job] { return st.jobs },
		func(v *storage.Job) *ulid.ULID { return &v.NextAttemptID }),
	fk(fkJobStartedBy, tQueueJobs, tQueueWorkers, noAction,
		func(st *state) *table[ulid.ULID, storage.Job] { return st.jobs },
		func(v *storage.Job) *ulid.ULID { return &v.StartedBy }),
	fk("queue_schedules_last_scheduled_job_id_fkey", tQueueSchedules, tQueueJobs, setNull,
		func(st *state) *table[string, storage.Schedule] { return st.schedules },
		func(v *storage.Schedule) *ulid.ULID { return &v.LastScheduledJobID }),
	fk(fkLeaderWorker, tQueueLeader, tQueueWorkers, noAction,
		func(st *state) *table[bool, storage.Leader] { return st.leader },
		func(v *storage.Leader) *ulid.ULID { return &v.WorkerID }),
	fk(fkPersonalTokenSession, tPersonalAccessTokens, tPersonalSessions, noAction,
		func(st *state) *table[ulid.ULID, storage.PersonalAccessToken] { return st.personalTokens },
		func(v *storage.PersonalAccessToken) *ulid.ULID { return &v.SessionID }),
}

// deleteRows deletes the given rows, per table, as one DELETE statement each
// would: CASCADE deletes and SET NULL nulls what references them, then any
// remaining NO ACTION reference to a deleted row fails the whole delete
// (the caller's journal mark undoes it).
func (st *state) deleteRows(rows map[string][]ulid.ULID) error {
	deleted := map[string]idSet{}
	pending := map[string]idSet{}
	add := func(tbl string, id ulid.ULID) {
		if deleted[tbl] == nil {
			deleted[tbl] = idSet{}
		}
		if deleted[tbl][id] {
			return
		}
		deleted[tbl][id] = true
		if pending[tbl] == nil {
			pending[tbl] = idSet{}
		}
		pending[tbl][id] = true
	}
	for tbl, ids := range rows {
		for _, id := range ids {
			add(tbl, id)
		}
	}
	for len(pending) > 0 {
		cur := pending
		pending = map[string]idSet{}
		for _, k := range foreignKeys {
			parents := cur[k.parent]
			if len(parents) == 0 || k.action == noAction {
				continue
			}
			for _, child := range k.apply(st, parents) {
				add(k.child, child)
			}
		}
	}
	for tbl, ids := range deleted {
		del, ok := st.deleters[tbl]
		if !ok {
			return fmt.Errorf("delete from %s: no such table", tbl)
		}
		for id := range ids {
			del(id)
		}
	}
	for _, k := range foreignKeys {
		parents := deleted[k.parent]
		if k.action != noAction || len(parents) == 0 {
			continue
		}
		if hit, ok := k.holds(st, parents); ok {
			return fmt.Errorf("delete from %s: %s %v still references a deleted row: %s: %w",
				k.parent, k.child, hit, k.name, errForeignKey)
		}
	}
	return nil
}
