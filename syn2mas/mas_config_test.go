package syn2mas_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
)

func TestLoadMASConfig(t *testing.T) {
	t.Parallel()

	t.Run("ReadsSettings", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadMAS(t, `
http: {listeners: []}
matrix: {homeserver: example.com, secret: s}
passwords:
  schemes:
    - {version: 1, algorithm: bcrypt, secret: pepper}
    - {version: 2, algorithm: argon2id, secret_file: /run/secret}
captcha: {service: recaptcha_v2, site_key: k}
branding: {tos_uri: https://example.com/tos}
upstream_oauth2:
  providers:
    - {id: 01H8PKNWKKRPCBW4YGH1RWV279, issuer: https://g, synapse_idp_id: oidc-google}
    - {id: 01H8PKNWKKRPCBW4YGH1RWV280, issuer: https://n}
`)
		require.Equal(t, "example.com", cfg.Homeserver)
		require.Equal(t, []syn2mas.PasswordScheme{
			{Version: 1, Algorithm: "bcrypt", Secret: "pepper"},
			{Version: 2, Algorithm: "argon2id", SecretFile: "/run/secret"},
		}, cfg.PasswordSchemes)
		require.Equal(t, "recaptcha_v2", cfg.CaptchaService)
		require.Equal(t, "https://example.com/tos", cfg.TOSURI)
		require.Equal(t, []syn2mas.UpstreamProvider{
			{ID: "01H8PKNWKKRPCBW4YGH1RWV279", Issuer: "https://g", SynapseIDPID: "oidc-google"},
			{ID: "01H8PKNWKKRPCBW4YGH1RWV280", Issuer: "https://n"},
		}, cfg.UpstreamProviders)
	})

	t.Run("AbsentSchemesAreMASDefault", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadMAS(t, "matrix: {homeserver: e}\n")
		require.Equal(t, []syn2mas.PasswordScheme{{Version: 1, Algorithm: "argon2id"}}, cfg.PasswordSchemes)
	})

	t.Run("EmptySchemesStayEmpty", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadMAS(t, "passwords: {schemes: []}\n")
		require.Empty(t, cfg.PasswordSchemes)
	})

	t.Run("WrongTypesNameFileAndLine", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, t.TempDir(), "mas.yaml", "matrix:\n  homeserver: e\npasswords:\n  schemes:\n    - version: one\n")
		_, err := syn2mas.LoadMASConfig(path)
		require.ErrorContains(t, err, path+`:5:16: passwords.schemes[0].version: expected an integer, got string "one"`)
	})

	t.Run("SecretAndSecretFileTogether", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, t.TempDir(), "mas.yaml", "passwords: {schemes: [{version: 1, secret: a, secret_file: b}]}\n")
		_, err := syn2mas.LoadMASConfig(path)
		require.ErrorContains(t, err, "passwords.schemes[0]: both secret and secret_file are set")
	})

	t.Run("MalformedYAML", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, t.TempDir(), "mas.yaml", "matrix: {homeserver: e\n")
		_, err := syn2mas.LoadMASConfig(path)
		require.ErrorContains(t, err, path+":")
		require.ErrorContains(t, err, "malformed YAML")
	})

	t.Run("MissingFile", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "mas.yaml")
		_, err := syn2mas.LoadMASConfig(path)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorContains(t, err, path)
	})
}

func TestPasswordSchemeLoadSecret(t *testing.T) {
	t.Parallel()

	t.Run("Inline", func(t *testing.T) {
		t.Parallel()
		s, err := syn2mas.PasswordScheme{Version: 1, Secret: "abc"}.LoadSecret()
		require.NoError(t, err)
		require.Equal(t, "abc", s)
	})

	t.Run("FileReadWhole", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, t.TempDir(), "pepper", "abc\n")
		s, err := syn2mas.PasswordScheme{Version: 1, SecretFile: path}.LoadSecret()
		require.NoError(t, err)
		require.Equal(t, "abc\n", s)
	})

	t.Run("MissingFile", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "pepper")
		_, err := syn2mas.PasswordScheme{Version: 1, SecretFile: path}.LoadSecret()
		require.ErrorContains(t, err, path)
	})
}
