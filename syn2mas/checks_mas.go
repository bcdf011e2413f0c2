package syn2mas

import "fmt"

// CheckAgainstMAS checks Synapse's configuration against MAS's: the
// password scheme that must verify Synapse's hashes, guest access, the
// server name, and the CAPTCHA and terms of service MAS should take over.
// The error return is for a secret_file that cannot be read.
func CheckAgainstMAS(syn *SynapseConfig, mas *MASConfig) (Findings, error) {
	fs, err := checkPasswordScheme(syn, mas)
	if err != nil {
		return nil, err
	}
	if syn.AllowGuestAccess {
		fs = append(fs, errorf(CodeGuestAccessEnabled,
			"Synapse has allow_guest_access: true, but MAS has no guest accounts; disable guest access before migrating"))
	}
	if syn.ServerName != mas.Homeserver {
		fs = append(fs, errorf(CodeServerNameMismatch,
			"Synapse server_name %s differs from MAS matrix.homeserver %s; they must be the same", quoteOrUnset(syn.ServerName), quoteOrUnset(mas.Homeserver)))
	}
	if syn.EnableRegistrationCaptcha && mas.CaptchaService == "" {
		fs = append(fs, warningf(CodeCaptchaNotConfigured,
			"Synapse requires a CAPTCHA at registration (enable_registration_captcha), but MAS has no captcha.service configured"))
	}
	if syn.UserConsent && mas.TOSURI == "" {
		fs = append(fs, warningf(CodeTermsNotConfigured,
			"Synapse has user_consent configured, but MAS has no branding.tos_uri for its terms of service"))
	}
	return fs, nil
}

// checkPasswordScheme checks that MAS's version 1 scheme can verify the
// bcrypt hashes Synapse stored, which include Synapse's pepper.
func checkPasswordScheme(syn *SynapseConfig, mas *MASConfig) (Findings, error) {
	var v1 *PasswordScheme
	for i := range mas.PasswordSchemes {
		if mas.PasswordSchemes[i].Version == 1 {
			v1 = &mas.PasswordSchemes[i]
			break
		}
	}
	if v1 == nil {
		return Findings{errorf(CodePasswordSchemeMissing,
			"MAS has no password scheme with version 1; add a bcrypt scheme with version 1 so that passwords imported from Synapse verify")}, nil
	}
	var fs Findings
	if v1.Algorithm != "bcrypt" {
		fs = append(fs, errorf(CodePasswordSchemeNotBcrypt,
			"MAS password scheme version 1 uses %s, but Synapse's password hashes are bcrypt; make version 1 a bcrypt scheme", quoteOrUnset(v1.Algorithm)))
	}
	secret, err := v1.LoadSecret()
	if err != nil {
		return nil, err
	}
	// The values are secrets: the message says which side has one, never what it is.
	if secret != syn.Password.Pepper {
		var detail string
		switch {
		case syn.Password.Pepper == "":
			detail = "MAS has a secret but Synapse has no password_config.pepper"
		case secret == "":
			detail = "Synapse has a password_config.pepper but MAS has no secret"
		default:
			detail = "MAS's secret differs from Synapse's password_config.pepper"
		}
		fs = append(fs, errorf(CodePasswordPepperMismatch,
			"MAS password scheme version 1: %s, so passwords imported from Synapse would not verify; set its secret to Synapse's pepper", detail))
	}
	return fs, nil
}

func quoteOrUnset(s string) string {
	if s == "" {
		return "<unset>"
	}
	return fmt.Sprintf("%q", s)
}
