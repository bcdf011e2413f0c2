package memory

import (
	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// The PostgreSQL tables the state mirrors, by name.
const (
	tUsers                    = "users"
	tUserEmails               = "user_emails"
	tUserPasswords            = "user_passwords"
	tUserSessions             = "user_sessions"
	tAuthentications          = "user_session_authentications"
	tCompatSessions           = "compat_sessions"
	tCompatAccessTokens       = "compat_access_tokens"
	tCompatRefreshTokens      = "compat_refresh_tokens"
	tCompatSSOLogins          = "compat_sso_logins"
	tOAuth2Clients            = "oauth2_clients"
	tOAuth2Sessions           = "oauth2_sessions"
	tOAuth2AccessTokens       = "oauth2_access_tokens"
	tOAuth2RefreshTokens      = "oauth2_refresh_tokens"
	tAuthorizationGrants      = "oauth2_authorization_grants"
	tDeviceCodeGrants         = "oauth2_device_code_grant"
	tUpstreamProviders        = "upstream_oauth_providers"
	tUpstreamLinks            = "upstream_oauth_links"
	tUpstreamSessions         = "upstream_oauth_authorization_sessions"
	tRecoverySessions         = "user_recovery_sessions"
	tRecoveryTickets          = "user_recovery_tickets"
	tRegistrations            = "user_registrations"
	tEmailAuthentications     = "user_email_authentications"
	tEmailAuthenticationCodes = "user_email_authentication_codes"
	tQueueWorkers             = "queue_workers"
	tQueueJobs                = "queue_jobs"
	tQueueSchedules           = "queue_schedules"
	tQueueLeader              = "queue_leader"
	tPersonalSessions         = "personal_sessions"
	tPersonalAccessTokens     = "personal_access_tokens"
	tPolicyData               = "policy_data"
	tUserTerms                = "user_terms"
	tUnsupportedThirdPartyIDs = "user_unsupported_third_party_ids"
)

// state is every table of the store. Rows are values; the pointers inside
// them (optional times, slices) are never written through, and every row
// leaves the store as a deep copy, so no caller can reach into the state.
type state struct {
	j journal

	users            *table[ulid.ULID, storage.User]
	userEmails       *table[ulid.ULID, storage.UserEmail]
	userPasswords    *table[ulid.ULID, storage.UserPassword]
	userSessions     *table[ulid.ULID, storage.UserSession]
	authentications  *table[ulid.ULID, storage.Authentication]
	compatSessions   *table[ulid.ULID, storage.CompatSession]
	compatAccess     *table[ulid.ULID, storage.CompatAccessToken]
	compatRefresh    *table[ulid.ULID, storage.CompatRefreshToken]
	compatSSOLogins  *table[ulid.ULID, storage.CompatSSOLogin]
	oauth2Clients    *table[ulid.ULID, storage.OAuth2Client]
	oauth2Sessions   *table[ulid.ULID, storage.OAuth2Session]
	oauth2Access     *table[ulid.ULID, storage.OAuth2AccessToken]
	oauth2Refresh    *table[ulid.ULID, storage.OAuth2RefreshToken]
	authGrants       *table[ulid.ULID, storage.OAuth2AuthorizationGrant]
	deviceGrants     *table[ulid.ULID, storage.OAuth2DeviceCodeGrant]
	providers        *table[ulid.ULID, storage.UpstreamOAuthProvider]
	links            *table[ulid.ULID, storage.UpstreamOAuthLink]
	upstreamSessions *table[ulid.ULID, storage.UpstreamOAuthSession]
	recoverySessions *table[ulid.ULID, storage.RecoverySession]
	recoveryTickets  *table[ulid.ULID, storage.RecoveryTicket]
	registrations    *table[ulid.ULID, storage.Registration]
	emailAuths       *table[ulid.ULID, storage.EmailAuthentication]
	emailAuthCodes   *table[ulid.ULID, storage.EmailAuthenticationCode]
	workers          *table[ulid.ULID, storage.Worker]
	jobs             *table[ulid.ULID, storage.Job]
	schedules        *table[string, storage.Schedule]
	// leader is keyed by queue_leader's always-true, unique active column:
	// it holds at most one row.
	leader           *table[bool, storage.Leader]
	personalSessions *table[ulid.ULID, storage.PersonalSession]
	personalTokens   *table[ulid.ULID, storage.PersonalAccessToken]
	policyData       *table[ulid.ULID, storage.PolicyData]
	userTerms        *table[ulid.ULID, storage.UserTerms]
	thirdPartyIDs    *table[thirdPartyKey, storage.UnsupportedThirdPartyID]

	// deleters delete a row by ID, per table name; the foreign-key engine
	// uses them.
	deleters map[string]func(ulid.ULID)
}

// Unique index numbers: the order in which newState declares each table's
// unique constraints.
const (
	uqUsername      = 0
	uqCompatAccess  = 0
	uqCompatRefresh = 0
	uqSSOLoginToken = 0
	uqOAuth2Access  = 0
	uqOAuth2Refresh = 0
	uqAuthGrantCode = 0
	uqDeviceCode    = 0
	uqUserCode      = 1
	uqLinkSubject   = 0
	uqUpstreamState = 0
	uqEmailAuthCode = 0
	uqPersonalHash  = 0
	uqPersonalLive  = 1
	uqUserTermsURL  = 0
)

// thirdPartyKey is the primary key of user_unsupported_third_party_ids.
type thirdPartyKey struct {
	userID          ulid.ULID
	medium, address string
}

func newState() *state {
	st := &state{}
	j := &st.j
	st.users = newTable[ulid.ULID, storage.User](j, tUsers, "user")
	st.users.unique("users_username_unique", func(u storage.User) (string, bool) { return u.Username, true })
	st.userEmails = newTable[ulid.ULID, storage.UserEmail](j, tUserEmails, "user email")
	st.userPasswords = newTable[ulid.ULID, storage.UserPassword](j, tUserPasswords, "user password")
	st.userSessions = newTable[ulid.ULID, storage.UserSession](j, tUserSessions, "browser session")
	st.authentications = newTable[ulid.ULID, storage.Authentication](j, tAuthentications, "authentication")
	st.compatSessions = newTable[ulid.ULID, storage.CompatSession](j, tCompatSessions, "compat session")
	st.compatAccess = newTable[ulid.ULID, storage.CompatAccessToken](j, tCompatAccessTokens, "compat access token")
	st.compatAccess.unique("compat_access_tokens_access_token_unique", func(t storage.CompatAccessToken) (string, bool) { return t.Token, true })
	st.compatRefresh = newTable[ulid.ULID, storage.CompatRefreshToken](j, tCompatRefreshTokens, "compat refresh token")
	st.compatRefresh.unique("compat_refresh_tokens_refresh_token_unique", func(t storage.CompatRefreshToken) (string, bool) { return t.Token, true })
	st.compatSSOLogins = newTable[ulid.ULID, storage.CompatSSOLogin](j, tCompatSSOLogins, "compat SSO login")
	st.compatSSOLogins.unique("compat_sessions_login_token_unique", func(l storage.CompatSSOLogin) (string, bool) { return l.LoginToken, true })
	st.oauth2Clients = newTable[ulid.ULID, storage.OAuth2Client](j, tOAuth2Clients, "OAuth 2.0 client")
	st.oauth2Sessions = newTable[ulid.ULID, storage.OAuth2Session](j, tOAuth2Sessions, "OAuth 2.0 session")
	st.oauth2Access = newTable[ulid.ULID, storage.OAuth2AccessToken](j, tOAuth2AccessTokens, "OAuth 2.0 access token")
	st.oauth2Access.unique("oauth2_access_tokens_unique", func(t storage.OAuth2AccessToken) (string, bool) { return t.Token, true })
	st.oauth2Refresh = newTable[ulid.ULID, storage.OAuth2RefreshToken](j, tOAuth2RefreshTokens, "OAuth 2.0 refresh token")
	st.oauth2Refresh.unique("oauth2_refresh_tokens_unique", func(t storage.OAuth2RefreshToken) (string, bool) { return t.Token, true })
	st.authGrants = newTable[ulid.ULID, storage.OAuth2AuthorizationGrant](j, tAuthorizationGrants, "authorization grant")
	// An authorization grant without a code stores NULL, which never conflicts.
	st.authGrants.unique("oauth2_authorization_grants_authorization_code_unique", func(g storage.OAuth2AuthorizationGrant) (string, bool) { return g.Code, g.Code != "" })
	st.deviceGrants = newTable[ulid.ULID, storage.OAuth2DeviceCodeGrant](j, tDeviceCodeGrants, "device-code grant")
	st.deviceGrants.unique("oauth2_device_code_grant_device_code_key", func(g storage.OAuth2DeviceCodeGrant) (string, bool) { return g.DeviceCode, true })
	st.deviceGrants.unique("oauth2_device_code_grant_user_code_key", func(g storage.OAuth2DeviceCodeGrant) (string, bool) { return g.UserCode, true })
	st.providers = newTable[ulid.ULID, storage.UpstreamOAuthProvider](j, tUpstreamProviders, "upstream provider")
	st.links = newTable[ulid.ULID, storage.UpstreamOAuthLink](j, tUpstreamLinks, "upstream link")
	st.links.unique("upstream_oauth_links_subject_unique", func(l storage.UpstreamOAuthLink) (string, bool) {
		return l.ProviderID.String() + "\x00" + l.Subject, true
	})
	st.upstreamSessions = newTable[ulid.ULID, storage.UpstreamOAuthSession](j, tUpstreamSessions, "upstream session")
	st.upstreamSessions.unique("upstream_oauth_authorization_sessions_state_unique", func(s storage.UpstreamOAuthSession) (string, bool) { return s.State, true })
	st.recoverySessions = newTable[ulid.ULID, storage.RecoverySession](j, tRecoverySessions, "recovery session")
	st.recoveryTickets = newTable[ulid.ULID, storage.RecoveryTicket](j, tRecoveryTickets, "recovery ticket")
	st.registrations = newTable[ulid.ULID, storage.Registration](j, tRegistrations, "registration")
	st.emailAuths = newTable[ulid.ULID, storage.EmailAuthentication](j, tEmailAuthentications, "email authentication")
	st.emailAuthCodes = newTable[ulid.ULID, storage.EmailAuthenticationCode](j, tEmailAuthenticationCodes, "email authentication code")
	st.emailAuthCodes.unique("user_email_authentication_codes_auth_id_code_unique", func(c storage.EmailAuthenticationCode) (string, bool) {
		return c.AuthenticationID.String() + "\x00" + c.Code, true
	})
	st.workers = newTable[ulid.ULID, storage.Worker](j, tQueueWorkers, "worker")
	st.jobs = newTable[ulid.ULID, storage.Job](j, tQueueJobs, "job")
	st.schedules = newTable[string, storage.Schedule](j, tQueueSchedules, "schedule")
	st.leader = newTable[bool, storage.Leader](j, tQueueLeader, "queue leader")
	st.personalSessions = newTable[ulid.ULID, storage.PersonalSession](j, tPersonalSessions, "personal session")
	st.personalTokens = newTable[ulid.ULID, storage.PersonalAccessToken](j, tPersonalAccessTokens, "personal access token")
	st.personalTokens.unique("personal_access_tokens_access_token_sha256_key", func(t storage.PersonalAccessToken) (string, bool) { return string(t.SHA256[:]), true })
	// The unique partial index: at most one token of a session is not revoked.
	st.personalTokens.unique("personal_access_tokens_personal_session_id_idx", func(t storage.PersonalAccessToken) (string, bool) {
		return t.SessionID.String(), t.RevokedAt == nil
	})
	st.policyData = newTable[ulid.ULID, storage.PolicyData](j, tPolicyData, "policy data")
	st.userTerms = newTable[ulid.ULID, storage.UserTerms](j, tUserTerms, "user terms")
	st.userTerms.unique("user_terms_user_id_terms_url_key", func(t storage.UserTerms) (string, bool) {
		return t.UserID.String() + "\x00" + t.TermsURL, true
	})
	st.thirdPartyIDs = newTable[thirdPartyKey, storage.UnsupportedThirdPartyID](j, tUnsupportedThirdPartyIDs, "unsupported third-party ID")

	st.deleters = map[string]func(ulid.ULID){
		tUserSessions:             st.userSessions.remove,
		tAuthentications:          st.authentications.remove,
		tCompatSessions:           st.compatSessions.remove,
		tCompatAccessTokens:       st.compatAccess.remove,
		tCompatRefreshTokens:      st.compatRefresh.remove,
		tCompatSSOLogins:          st.compatSSOLogins.remove,
		tOAuth2Sessions:           st.oauth2Sessions.remove,
		tOAuth2AccessTokens:       st.oauth2Access.remove,
		tOAuth2RefreshTokens:      st.oauth2Refresh.remove,
		tAuthorizationGrants:      st.authGrants.remove,
		tDeviceCodeGrants:         st.deviceGrants.remove,
		tUpstreamLinks:            st.links.remove,
		tUpstreamSessions:         st.upstreamSessions.remove,
		tRecoverySessions:         st.recoverySessions.remove,
		tRecoveryTickets:          st.recoveryTickets.remove,
		tRegistrations:            st.registrations.remove,
		tEmailAuthentications:     st.emailAuths.remove,
		tEmailAuthenticationCodes: st.emailAuthCodes.remove,
		tQueueWorkers:             st.workers.remove,
		tQueueJobs:                st.jobs.remove,
		tPersonalSessions:         st.personalSessions.remove,
		tPersonalAccessTokens:     st.personalTokens.remove,
		tPolicyData:               st.policyData.remove,
	}
	for _, k := range foreignKeys {
		k.index(st)
	}
	return st
}
