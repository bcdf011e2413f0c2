package storage

import "context"

// Repository gives access to every entity's repository. Implementations are
// safe for concurrent use.
type Repository interface {
	// Users stores users, their emails and passwords.
	Users() UserRepository
	// UserSessions stores browser sessions and their authentications.
	UserSessions() UserSessionRepository
	// CompatSessions stores compat sessions, their tokens and SSO logins.
	CompatSessions() CompatSessionRepository
	// OAuth2Clients stores OAuth 2.0 clients.
	OAuth2Clients() OAuth2ClientRepository
	// OAuth2Sessions stores OAuth 2.0 sessions.
	OAuth2Sessions() OAuth2SessionRepository
	// OAuth2Tokens stores OAuth 2.0 access and refresh tokens.
	OAuth2Tokens() OAuth2TokenRepository
	// OAuth2Grants stores authorization-code and device-code grants.
	OAuth2Grants() OAuth2GrantRepository
	// UpstreamOAuth stores upstream providers, links and logins, and back-channel logout.
	UpstreamOAuth() UpstreamOAuthRepository
	// Recovery stores account-recovery sessions and tickets.
	Recovery() RecoveryRepository
	// Registrations stores registrations and email authentications.
	Registrations() RegistrationRepository
	// PersonalSessions stores personal sessions and their access tokens.
	PersonalSessions() PersonalSessionRepository
	// PolicyData stores the versions of the policy data.
	PolicyData() PolicyDataRepository
	// Queue stores the job queue: workers, its leader, jobs and schedules.
	Queue() QueueRepository
}

// Store is a Repository that can run a function in one transaction.
type Store interface {
	Repository
	// Transact runs fn with a repository whose every change is part of one
	// transaction: committed when fn returns nil, rolled back (leaving no
	// trace) when it returns an error or panics. The error is fn's. After a
	// repository call inside fn fails, the transaction can only be rolled
	// back (PostgreSQL refuses anything else): return the error.
	Transact(ctx context.Context, fn func(ctx context.Context, tx Repository) error) error
}
