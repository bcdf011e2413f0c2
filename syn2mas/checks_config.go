package syn2mas

// CheckSynapseConfig checks Synapse's configuration on its own: settings
// that block the migration (errors) or need the operator's attention
// (warnings).
func CheckSynapseConfig(cfg *SynapseConfig) Findings {
	var fs Findings
	if cfg.EnableRegistration {
		fs = append(fs, warningf(CodeRegistrationEnabled,
			"Synapse has registration enabled (enable_registration); turn it off after the migration, as MAS handles registration from then on"))
	}
	if cfg.UserConsent {
		fs = append(fs, warningf(CodeUserConsentEnabled,
			"Synapse has user_consent configured; turn it off after the migration, as MAS presents the terms of service from then on"))
	}
	external := []struct {
		on       bool
		name     string
		settings string
	}{
		{cfg.CASEnabled, "CAS", "cas_config"},
		{cfg.SAML2Enabled, "SAML2", "saml2_config"},
		{cfg.JWTEnabled, "JWT", "jwt_config"},
		{cfg.Password.Enabled && !cfg.Password.LocalDBEnabled, "password provider module", "password_config.localdb_enabled: false"},
	}
	for _, e := range external {
		if e.on {
			f := warningf(CodeExternalAuthSystem,
				"Synapse uses %s login (%s), which MAS does not support directly; map its users to an upstream provider by hand", e.name, e.settings)
			f.Provider = e.name
			fs = append(fs, f)
		}
	}
	if cfg.Enable3PIDChanges != nil && *cfg.Enable3PIDChanges {
		fs = append(fs, errorf(CodeThreepidChangesEnabled,
			"Synapse has enable_3pid_changes: true; set it to false or remove it, as MAS manages e-mail addresses after the migration"))
	}
	if cfg.LoginViaExistingSession {
		fs = append(fs, errorf(CodeLoginViaExistingSession,
			"Synapse has login_via_existing_session.enabled: true, which MAS does not support; disable it before migrating"))
	}
	return fs
}
