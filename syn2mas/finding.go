package syn2mas

import "fmt"

// Severity says whether a finding blocks the migration.
type Severity string

const (
	// SeverityError blocks the migration.
	SeverityError Severity = "error"
	// SeverityWarning is shown to the operator, who may go on.
	SeverityWarning Severity = "warning"
)

// Code identifies the rule a finding comes from. Codes are stable: scripts
// may match on them, and the message wording may change.
type Code string

// The finding codes, grouped by the check that reports them.
const (
	// CodeRegistrationEnabled (warning): Synapse has registration enabled;
	// turn it off after the migration.
	CodeRegistrationEnabled Code = "registration_enabled"
	// CodeUserConsentEnabled (warning): Synapse has `user_consent`; turn it
	// off after the migration.
	CodeUserConsentEnabled Code = "user_consent_enabled"
	// CodeExternalAuthSystem (warning): CAS, SAML2, JWT or a password
	// provider module is in use (named in Provider) and must be mapped to an
	// upstream provider by hand.
	CodeExternalAuthSystem Code = "external_auth_system"
	// CodeThreepidChangesEnabled (error): `enable_3pid_changes: true`.
	CodeThreepidChangesEnabled Code = "threepid_changes_enabled"
	// CodeLoginViaExistingSession (error):
	// `login_via_existing_session.enabled: true`.
	CodeLoginViaExistingSession Code = "login_via_existing_session_enabled"

	// CodePasswordSchemeMissing (error): MAS has no password scheme with
	// version 1 to verify Synapse's hashes.
	CodePasswordSchemeMissing Code = "mas_password_scheme_missing"
	// CodePasswordSchemeNotBcrypt (error): MAS's version 1 password scheme is
	// not bcrypt, the algorithm of Synapse's hashes.
	CodePasswordSchemeNotBcrypt Code = "mas_password_scheme_not_bcrypt"
	// CodePasswordPepperMismatch (error): MAS's version 1 secret differs from
	// Synapse's `password_config.pepper`.
	CodePasswordPepperMismatch Code = "mas_password_pepper_mismatch"
	// CodeGuestAccessEnabled (error): Synapse has `allow_guest_access: true`;
	// MAS has no guests.
	CodeGuestAccessEnabled Code = "guest_access_enabled"
	// CodeServerNameMismatch (error): Synapse's `server_name` differs from
	// MAS's `matrix.homeserver`.
	CodeServerNameMismatch Code = "server_name_mismatch"
	// CodeCaptchaNotConfigured (warning): Synapse asks for a CAPTCHA at
	// registration, MAS has none configured.
	CodeCaptchaNotConfigured Code = "mas_captcha_not_configured"
	// CodeTermsNotConfigured (warning): Synapse has `user_consent`, MAS has
	// no `branding.tos_uri`.
	CodeTermsNotConfigured Code = "mas_terms_of_service_not_configured"

	// CodeGuestUsers (warning): the database holds guest users (Count),
	// which are migrated without their sessions (MAS has no guest access).
	CodeGuestUsers Code = "guest_users"
	// CodeNonEmailThreepids (warning): the database holds third-party ids
	// other than e-mail addresses (Count), which MAS keeps but does not use.
	CodeNonEmailThreepids Code = "non_email_threepids"
	// CodeOAuthDelegatedLinks (error): `user_external_ids` holds
	// "oauth-delegated" rows left by an earlier attempt; the message gives
	// the DELETE statement that removes them.
	CodeOAuthDelegatedLinks Code = "oauth_delegated_links"
	// CodeUnknownAuthProvider (error, or warning with
	// Options.IgnoreMissingAuthProviders): users (Count) are linked to a
	// provider (Provider) that Synapse's configuration does not define.
	CodeUnknownAuthProvider Code = "unknown_auth_provider"
	// CodeProviderMissingInMAS (error): a Synapse provider (Provider, Issuer)
	// with linked users (Count) has no MAS upstream provider whose
	// synapse_idp_id names it.
	CodeProviderMissingInMAS Code = "provider_missing_in_mas"
	// CodeForeignServerUsers (error): users (Count, a few in Examples) whose
	// Matrix ID is not on `server_name`; MAS's migration fails on them.
	CodeForeignServerUsers Code = "foreign_server_users"

	// CodeAppserviceLocalpart (warning, from [Migrate]): appservice users
	// (Count, a few in Examples) whose localpart holds a ':' were ignored,
	// as MAS's tool ignores them.
	CodeAppserviceLocalpart Code = "appservice_localpart_invalid"
	// CodeInvalidDeviceIP (warning, from [Migrate]): devices (Count, a few
	// in Examples as "user device ip") whose last IP is not an address; their
	// compat sessions were migrated without one. Synapse's "-" is not
	// counted.
	CodeInvalidDeviceIP Code = "device_ip_invalid"
)

// Finding is one result of a check.
type Finding struct {
	// Code is the rule the finding comes from.
	Code Code `json:"code"`
	// Severity says whether the finding blocks the migration.
	Severity Severity `json:"severity"`
	// Message explains the finding and what to do, for a person.
	Message string `json:"message"`
	// Provider is the auth provider or mechanism concerned, if any.
	Provider string `json:"provider,omitempty"`
	// Issuer is the provider's issuer, if any is configured.
	Issuer string `json:"issuer,omitempty"`
	// Count is the number of users or rows concerned (0 for configuration
	// findings).
	Count int64 `json:"count,omitempty"`
	// Examples are a few of the values concerned, e.g. user ids.
	Examples []string `json:"examples,omitempty"`
}

// String formats the finding as "severity [code]: message".
func (f Finding) String() string {
	return fmt.Sprintf("%s [%s]: %s", f.Severity, f.Code, f.Message)
}

// Findings is a list of findings in the order the checks produced them.
type Findings []Finding

// Errors returns the findings that block the migration.
func (fs Findings) Errors() Findings { return fs.bySeverity(SeverityError) }

// Warnings returns the findings that do not block the migration.
func (fs Findings) Warnings() Findings { return fs.bySeverity(SeverityWarning) }

func (fs Findings) bySeverity(s Severity) Findings {
	var out Findings
	for _, f := range fs {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

func errorf(code Code, format string, args ...any) Finding {
	return Finding{Code: code, Severity: SeverityError, Message: fmt.Sprintf(format, args...)}
}

func warningf(code Code, format string, args ...any) Finding {
	return Finding{Code: code, Severity: SeverityWarning, Message: fmt.Sprintf(format, args...)}
}
