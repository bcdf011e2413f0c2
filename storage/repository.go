package storage

import "context"

// Repository gives access to every entity's repository. Implementations are
// safe for concurrent use.
type Repository interface {
	Users() UserRepository
	UserSessions() UserSessionRepository
	CompatSessions() CompatSessionRepository
	OAuth2Clients() OAuth2ClientRepository
	OAuth2Sessions() OAuth2SessionRepository
	OAuth2Tokens() OAuth2TokenRepository
	OAuth2Grants() OAuth2GrantRepository
	UpstreamOAuth() UpstreamOAuthRepository
	Recovery() RecoveryRepository
	Registrations() RegistrationRepository
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
