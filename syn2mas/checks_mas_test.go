package syn2mas_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
)

func TestCheckAgainstMAS(t *testing.T) {
	t.Parallel()

	const goodMAS = "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 1, algorithm: bcrypt}]}\n"
	tests := []struct {
		name    string
		synapse string
		mas     string
		want    []string
	}{
		{"MatchingConfigsHaveNoFindings", "", goodMAS, []string{}},
		{"NoVersion1Scheme", "", "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 2, algorithm: bcrypt}]}",
			[]string{"error mas_password_scheme_missing"}},
		{"NoSchemesAtAll", "", "matrix: {homeserver: example.com}\npasswords: {schemes: []}",
			[]string{"error mas_password_scheme_missing"}},
		{"DefaultSchemeIsArgon2", "", "matrix: {homeserver: example.com}",
			[]string{"error mas_password_scheme_not_bcrypt"}},
		{"Version1NotBcrypt", "", "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 1, algorithm: argon2id}, {version: 2, algorithm: bcrypt}]}",
			[]string{"error mas_password_scheme_not_bcrypt"}},
		{"PepperMatches", "password_config: {pepper: pep}", "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 1, algorithm: bcrypt, secret: pep}]}",
			[]string{}},
		{"PepperWithoutSecret", "password_config: {pepper: pep}", goodMAS,
			[]string{"error mas_password_pepper_mismatch"}},
		{"SecretWithoutPepper", "", "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 1, algorithm: bcrypt, secret: pep}]}",
			[]string{"error mas_password_pepper_mismatch"}},
		{"SecretDiffersFromPepper", "password_config: {pepper: a}", "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 1, algorithm: bcrypt, secret: b}]}",
			[]string{"error mas_password_pepper_mismatch"}},
		{"NotBcryptAndWrongPepper", "password_config: {pepper: a}", "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 1, algorithm: pbkdf2}]}",
			[]string{"error mas_password_scheme_not_bcrypt", "error mas_password_pepper_mismatch"}},
		{"GuestAccessErrs", "allow_guest_access: true", goodMAS, []string{"error guest_access_enabled"}},
		{"ServerNameMismatchErrs", "", "matrix: {homeserver: other.example}\npasswords: {schemes: [{version: 1, algorithm: bcrypt}]}",
			[]string{"error server_name_mismatch"}},
		{"MASHomeserverUnsetErrs", "", "passwords: {schemes: [{version: 1, algorithm: bcrypt}]}",
			[]string{"error server_name_mismatch"}},
		{"CaptchaWithoutMASCaptchaWarns", "enable_registration_captcha: true", goodMAS, []string{"warning mas_captcha_not_configured"}},
		{"CaptchaPortedIsQuiet", "enable_registration_captcha: true", goodMAS + "captcha: {service: hcaptcha}", []string{}},
		{"ConsentWithoutTOSWarns", "user_consent: {version: '1'}", goodMAS, []string{"warning mas_terms_of_service_not_configured"}},
		{"ConsentWithTOSIsQuiet", "user_consent: {version: '1'}", goodMAS + "branding: {tos_uri: https://t}", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			syn := mustLoadSynapse(t, "server_name: example.com\n"+tt.synapse+"\n")
			fs, err := syn2mas.CheckAgainstMAS(syn, mustLoadMAS(t, tt.mas))
			require.NoError(t, err)
			require.Equal(t, tt.want, codes(fs))
		})
	}

	t.Run("MessagesNeverContainSecrets", func(t *testing.T) {
		t.Parallel()
		syn := mustLoadSynapse(t, "server_name: example.com\npassword_config: {pepper: synapsepepper}\n")
		mas := mustLoadMAS(t, "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 1, algorithm: bcrypt, secret: maspepper}]}")
		fs, err := syn2mas.CheckAgainstMAS(syn, mas)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		require.NotContains(t, fs[0].Message, "synapsepepper")
		require.NotContains(t, fs[0].Message, "maspepper")
	})

	t.Run("ServerNameMismatchNamesBoth", func(t *testing.T) {
		t.Parallel()
		syn := mustLoadSynapse(t, "server_name: example.com\n")
		fs, err := syn2mas.CheckAgainstMAS(syn, mustLoadMAS(t, "matrix: {homeserver: other.example}\n"))
		require.NoError(t, err)
		require.Contains(t, fs[len(fs)-1].Message, `Synapse server_name "example.com" differs from MAS matrix.homeserver "other.example"`)
	})

	t.Run("SecretFileIsRead", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		secret := writeFile(t, dir, "pepper", "pep")
		syn := mustLoadSynapse(t, "server_name: example.com\npassword_config: {pepper: pep}\n")
		mas := mustLoadMAS(t, "matrix: {homeserver: example.com}\npasswords: {schemes: [{version: 1, algorithm: bcrypt, secret_file: "+secret+"}]}")
		fs, err := syn2mas.CheckAgainstMAS(syn, mas)
		require.NoError(t, err)
		require.Empty(t, fs)
	})

	t.Run("UnreadableSecretFileIsAnError", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "pepper")
		syn := mustLoadSynapse(t, "server_name: example.com\n")
		mas := mustLoadMAS(t, "passwords: {schemes: [{version: 1, algorithm: bcrypt, secret_file: "+missing+"}]}")
		_, err := syn2mas.CheckAgainstMAS(syn, mas)
		require.ErrorContains(t, err, missing)
	})
}
