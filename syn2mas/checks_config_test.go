package syn2mas_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
)

func TestCheckSynapseConfig(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"CleanConfigHasNoFindings", "enable_registration: false\nenable_3pid_changes: false\n", []string{}},
		{"RegistrationEnabledWarns", "enable_registration: true", []string{"warning registration_enabled"}},
		{"UserConsentWarns", "user_consent: {template_dir: t, version: '1'}", []string{"warning user_consent_enabled"}},
		{"CASWarns", "cas_config: {enabled: true}", []string{"warning external_auth_system"}},
		{"SAML2Warns", "saml2_config: {enabled: true}", []string{"warning external_auth_system"}},
		{"JWTWarns", "jwt_config: {enabled: true}", []string{"warning external_auth_system"}},
		{"DisabledExternalSystemsAreQuiet", "cas_config: {enabled: false}\nsaml2_config: {enabled: false}\njwt_config: {enabled: false}", []string{}},
		{"PasswordProviderModuleWarns", "password_config: {localdb_enabled: false}", []string{"warning external_auth_system"}},
		{"DisabledPasswordsWithoutLocalDBAreQuiet", "password_config: {enabled: false, localdb_enabled: false}", []string{}},
		{"ThreepidChangesTrueErrs", "enable_3pid_changes: true", []string{"error threepid_changes_enabled"}},
		{"ThreepidChangesAbsentIsQuiet", "", []string{}},
		{"LoginViaExistingSessionErrs", "login_via_existing_session: {enabled: true}", []string{"error login_via_existing_session_enabled"}},
		{"LoginViaExistingSessionDisabledIsQuiet", "login_via_existing_session: {enabled: false, require_ui_auth: true}", []string{}},
		{"EverythingAtOnce",
			"enable_registration: true\nuser_consent: {}\ncas_config: {enabled: true}\nsaml2_config: {enabled: true}\njwt_config: {enabled: true}\n" +
				"password_config: {localdb_enabled: false}\nenable_3pid_changes: true\nlogin_via_existing_session: {enabled: true}",
			[]string{
				"warning registration_enabled", "warning user_consent_enabled",
				"warning external_auth_system", "warning external_auth_system", "warning external_auth_system", "warning external_auth_system",
				"error threepid_changes_enabled", "error login_via_existing_session_enabled",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := syn2mas.CheckSynapseConfig(mustLoadSynapse(t, "server_name: e\n"+tt.doc+"\n"))
			require.Equal(t, tt.want, codes(fs))
		})
	}

	t.Run("ExternalSystemsAreNamed", func(t *testing.T) {
		t.Parallel()
		fs := syn2mas.CheckSynapseConfig(mustLoadSynapse(t,
			"server_name: e\ncas_config: {enabled: true}\nsaml2_config: {enabled: true}\njwt_config: {enabled: true}\npassword_config: {localdb_enabled: false}\n"))
		var names []string
		for _, f := range fs {
			names = append(names, f.Provider)
			require.Contains(t, f.Message, f.Provider)
		}
		require.Equal(t, []string{"CAS", "SAML2", "JWT", "password provider module"}, names)
	})
}
