package syn2mas_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
)

func boolPtr(b bool) *bool { return &b }

func TestLoadSynapseConfigReadsSettings(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		doc  string
		want func(c *syn2mas.SynapseConfig) any
		val  any
	}{
		{"ServerName", "", func(c *syn2mas.SynapseConfig) any { return c.ServerName }, "example.com"},
		{"GuestAccessDefaultsOff", "", func(c *syn2mas.SynapseConfig) any { return c.AllowGuestAccess }, false},
		{"GuestAccessOn", "allow_guest_access: true", func(c *syn2mas.SynapseConfig) any { return c.AllowGuestAccess }, true},
		{"RegistrationYesIsTrueAsInPyYAML", "enable_registration: yes", func(c *syn2mas.SynapseConfig) any { return c.EnableRegistration }, true},
		{"RegistrationOffIsFalse", "enable_registration: off", func(c *syn2mas.SynapseConfig) any { return c.EnableRegistration }, false},
		{"RegistrationNullIsDefault", "enable_registration:", func(c *syn2mas.SynapseConfig) any { return c.EnableRegistration }, false},
		{"Captcha", "enable_registration_captcha: True", func(c *syn2mas.SynapseConfig) any { return c.EnableRegistrationCaptcha }, true},
		{"ThreepidChangesAbsent", "", func(c *syn2mas.SynapseConfig) any { return c.Enable3PIDChanges }, (*bool)(nil)},
		{"ThreepidChangesTrue", "enable_3pid_changes: true", func(c *syn2mas.SynapseConfig) any { return c.Enable3PIDChanges }, boolPtr(true)},
		{"ThreepidChangesFalse", "enable_3pid_changes: false", func(c *syn2mas.SynapseConfig) any { return c.Enable3PIDChanges }, boolPtr(false)},
		{"UserConsentAbsent", "", func(c *syn2mas.SynapseConfig) any { return c.UserConsent }, false},
		{"UserConsentNullIsAbsent", "user_consent:", func(c *syn2mas.SynapseConfig) any { return c.UserConsent }, false},
		{"UserConsentPresent", "user_consent: {version: '1.0'}", func(c *syn2mas.SynapseConfig) any { return c.UserConsent }, true},
		{"LoginViaExistingSession", "login_via_existing_session: {enabled: true}", func(c *syn2mas.SynapseConfig) any { return c.LoginViaExistingSession }, true},
		{"CASEnabled", "cas_config: {enabled: true}", func(c *syn2mas.SynapseConfig) any { return c.CASEnabled }, true},
		{"CASDisabled", "cas_config: {enabled: false, server_url: x}", func(c *syn2mas.SynapseConfig) any { return c.CASEnabled }, false},
		{"CASEnabledByDefaultOncePresent", "cas_config: {server_url: https://cas}", func(c *syn2mas.SynapseConfig) any { return c.CASEnabled }, true},
		{"CASEmptySectionIsOff", "cas_config: {}", func(c *syn2mas.SynapseConfig) any { return c.CASEnabled }, false},
		{"SAML2EnabledByDefaultOncePresent", "saml2_config: {sp_config: {}}", func(c *syn2mas.SynapseConfig) any { return c.SAML2Enabled }, true},
		{"SAML2Disabled", "saml2_config: {enabled: false}", func(c *syn2mas.SynapseConfig) any { return c.SAML2Enabled }, false},
		{"JWTDisabledByDefault", "jwt_config: {secret: s}", func(c *syn2mas.SynapseConfig) any { return c.JWTEnabled }, false},
		{"JWTEnabled", "jwt_config: {enabled: true}", func(c *syn2mas.SynapseConfig) any { return c.JWTEnabled }, true},
		{"PasswordDefaults", "", func(c *syn2mas.SynapseConfig) any { return c.Password }, syn2mas.PasswordConfig{Enabled: true, LocalDBEnabled: true}},
		{"PasswordNullSectionIsDefaults", "password_config:", func(c *syn2mas.SynapseConfig) any { return c.Password }, syn2mas.PasswordConfig{Enabled: true, LocalDBEnabled: true}},
		{"PasswordSettings", "password_config: {enabled: false, localdb_enabled: false, pepper: p3pp3r}", func(c *syn2mas.SynapseConfig) any { return c.Password },
			syn2mas.PasswordConfig{Enabled: false, LocalDBEnabled: false, Pepper: "p3pp3r"}},
		{"PasswordOnlyForReauthIsEnabled", "password_config: {enabled: only_for_reauth}", func(c *syn2mas.SynapseConfig) any { return c.Password.Enabled }, true},
		{"LegacyOIDC", "oidc_config: {enabled: true, issuer: https://i, client_id: c, idp_id: x}", func(c *syn2mas.SynapseConfig) any { return c.LegacyOIDC },
			&syn2mas.OIDCProvider{IDPID: "x", Issuer: "https://i", ClientID: "c"}},
		{"OIDCProviders", "oidc_providers: [{idp_id: a, issuer: https://a}, {issuer: https://b}]", func(c *syn2mas.SynapseConfig) any { return c.OIDCProviders },
			[]syn2mas.OIDCProvider{{IDPID: "a", Issuer: "https://a"}, {Issuer: "https://b"}}},
		{"AnchorsAndMergeKeys", "base: &b {enabled: true}\ncas_config:\n  <<: *b\n  server_url: x", func(c *syn2mas.SynapseConfig) any { return c.CASEnabled }, true},
		{"UnknownKeysIgnored", "no_such_setting: {deep: [1, 2]}\nlisteners: []", func(c *syn2mas.SynapseConfig) any { return c.ServerName }, "example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustLoadSynapse(t, "server_name: example.com\n"+tt.doc+"\n")
			require.Equal(t, tt.val, tt.want(cfg))
		})
	}
}

func TestLoadSynapseConfigMergeKeysStayLinear(t *testing.T) {
	t.Parallel()

	// Each level merges the previous one twice: expanded naively, 40 levels
	// are 2^40 mappings, so this only finishes if each is visited once.
	var b strings.Builder
	b.WriteString("l0: &l0 {enabled: true}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "l%d: &l%d {<<: [*l%d, *l%d]}\n", i, i, i-1, i-1)
	}
	b.WriteString("cas_config: {<<: [*l40, *l40]}\n<<: [*l40, *l40]\nserver_name: e\n")
	cfg := mustLoadSynapse(t, b.String())
	require.True(t, cfg.CASEnabled)
}

func TestLoadSynapseConfigDatabase(t *testing.T) {
	t.Parallel()

	t.Run("ReadsArgs", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadSynapse(t, `
server_name: example.com
database:
  name: psycopg2
  args: {user: synapse, password: s3cret, database: synapse, host: db, port: 5433, cp_min: 5, sslmode: verify-full}
`)
		require.NotNil(t, cfg.Database)
		require.Equal(t, "psycopg2", cfg.Database.Name)
		require.Equal(t, "synapse", cfg.Database.User)
		require.Equal(t, "s3cret", cfg.Database.Password)
		require.Equal(t, "synapse", cfg.Database.DBName)
		require.Equal(t, "db", cfg.Database.Host)
		require.Equal(t, "5433", cfg.Database.Port)
		require.Equal(t, map[string]string{"sslmode": "verify-full"}, cfg.Database.Params)
	})

	t.Run("DbnameAlias", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadSynapse(t, "server_name: e\ndatabase: {name: psycopg2, args: {dbname: syn}}")
		require.Equal(t, "syn", cfg.Database.DBName)
	})

	t.Run("DatabaseAndDbnameTogetherIsAnError", func(t *testing.T) {
		t.Parallel()
		_, err := loadSynapse(t, "server_name: e\ndatabase: {name: psycopg2, args: {dbname: a, database: b}}")
		require.ErrorContains(t, err, "database.args.database: set together with database.args.dbname")
	})

	t.Run("BadPortIsAnError", func(t *testing.T) {
		t.Parallel()
		_, err := loadSynapse(t, "server_name: e\ndatabase:\n  name: psycopg2\n  args:\n    port: http\n")
		require.ErrorContains(t, err, `file0.yaml:5:11: database.args.port: expected a port number, got string "http"`)
	})

	t.Run("PasswordNeverPrinted", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadSynapse(t, "server_name: e\ndatabase: {name: psycopg2, args: {password: hunter2}}")
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			require.NotContains(t, sprintf(format, cfg), "hunter2", format)
			require.NotContains(t, sprintf(format, *cfg.Database), "hunter2", format)
		}
	})

	t.Run("AbsentSectionIsNil", func(t *testing.T) {
		t.Parallel()
		require.Nil(t, mustLoadSynapse(t, "server_name: e").Database)
	})
}

func TestLoadSynapseConfigErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		doc     string
		wantErr string
		line    int
	}{
		{"MalformedYAML", "server_name: e\nfoo: [1, 2\n", "file0.yaml:1: malformed YAML: did not find expected ',' or ']'", 1},
		{"MalformedYAMLNamesLine", "server_name: e\nfoo: bar\n  baz: qux\n", "file0.yaml:3: malformed YAML: mapping values are not allowed in this context", 3},
		{"TopLevelList", "- a\n- b\n", "file0.yaml:1:1: expected a mapping of settings at the top level, got a list", 1},
		{"TopLevelScalar", "hello", `file0.yaml:1:1: expected a mapping of settings at the top level, got string "hello"`, 1},
		{"TwoDocuments", "server_name: e\n---\nserver_name: f\n", "file0.yaml:2: more than one YAML document", 2},
		{"WrongBool", "server_name: e\nallow_guest_access: maybe\n", `file0.yaml:2:21: allow_guest_access: expected a boolean, got string "maybe"`, 2},
		{"QuotedBoolIsAString", "server_name: e\nenable_registration: \"true\"\n", `enable_registration: expected a boolean, got string "true"`, 2},
		{"WrongNestedBool", "server_name: e\npassword_config:\n  localdb_enabled: 3\n", `file0.yaml:3:20: password_config.localdb_enabled: expected a boolean, got integer "3"`, 3},
		{"SectionNotAMapping", "server_name: e\npassword_config: [1]\n", "file0.yaml:2:18: password_config: expected a mapping, got a list", 2},
		{"ProvidersNotAList", "server_name: e\noidc_providers: {idp_id: x}\n", "oidc_providers: expected a list, got a mapping", 2},
		{"ProviderFieldWrongType", "server_name: e\noidc_providers:\n  - issuer: [a]\n", "file0.yaml:3:13: oidc_providers[0].issuer: expected a string, got a list", 3},
		{"ServerNameMissing", "allow_guest_access: false\n", "server_name: required setting is not set", 0},
		{"ServerNameNotAString", "server_name: {a: b}\n", "server_name: expected a string, got a mapping", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadSynapse(t, tt.doc)
			require.Nil(t, cfg)
			require.ErrorContains(t, err, tt.wantErr)
			var ce *syn2mas.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, "file0.yaml", filepath.Base(ce.File))
			require.Equal(t, tt.line, ce.Line)
		})
	}

	t.Run("ReportsEveryTypeError", func(t *testing.T) {
		t.Parallel()
		_, err := loadSynapse(t, "server_name: e\nallow_guest_access: 1\nenable_registration: 2\n")
		require.ErrorContains(t, err, "allow_guest_access")
		require.ErrorContains(t, err, "enable_registration")
	})

	t.Run("MissingFileIsNamed", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := syn2mas.LoadSynapseConfig(missing)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorContains(t, err, missing)
	})

	t.Run("UnreadableDirectoryEntryIsNamed", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		good := writeFile(t, dir, "a.yaml", "server_name: e\n")
		bad := writeFile(t, dir, "b.yaml", "server_name: [\n")
		_, err := syn2mas.LoadSynapseConfig(good, bad)
		require.ErrorContains(t, err, bad+":")
	})

	t.Run("NoFiles", func(t *testing.T) {
		t.Parallel()
		_, err := syn2mas.LoadSynapseConfig()
		require.ErrorContains(t, err, "no file given")
	})
}

func TestLoadSynapseConfigMerge(t *testing.T) {
	t.Parallel()

	t.Run("LaterFileReplacesOIDCProvidersWhole", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadSynapse(t, `
server_name: example.com
oidc_providers:
  - {idp_id: google, issuer: https://accounts.google.com}
  - {idp_id: gitlab, issuer: https://gitlab.com}
`, `
oidc_providers:
  - {idp_id: keycloak, issuer: https://sso.example.com}
`)
		require.Equal(t, []syn2mas.OIDCProvider{{IDPID: "keycloak", Issuer: "https://sso.example.com"}}, cfg.OIDCProviders)
		require.Equal(t, "example.com", cfg.ServerName, "keys of the first file the second does not set are kept")
	})

	t.Run("LaterFileReplacesPasswordConfigWhole", func(t *testing.T) {
		t.Parallel()
		// A deep merge would keep the pepper and localdb_enabled: false.
		cfg := mustLoadSynapse(t,
			"server_name: e\npassword_config: {pepper: p, localdb_enabled: false}\n",
			"password_config: {enabled: true}\n")
		require.Equal(t, syn2mas.PasswordConfig{Enabled: true, LocalDBEnabled: true, Pepper: ""}, cfg.Password)
	})

	t.Run("LaterFileCanResetWithNull", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadSynapse(t, "server_name: e\nuser_consent: {version: 1}\n", "user_consent: null\n")
		require.False(t, cfg.UserConsent)
	})

	t.Run("EmptyFileIsSkipped", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadSynapse(t, "server_name: e\nenable_registration: true\n", "", "# only a comment\n")
		require.True(t, cfg.EnableRegistration)
	})

	t.Run("DirectoryContributesYAMLFilesInNameOrder", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		main := writeFile(t, root, "homeserver.yaml", "server_name: example.com\nenable_registration: true\npassword_config: {pepper: one}\n")
		dir := filepath.Join(root, "conf.d")
		// Written out of order: the name order decides, not creation order.
		writeFile(t, dir, "20-b.yaml", "password_config: {pepper: two}\nallow_guest_access: true\n")
		writeFile(t, dir, "10-a.yaml", "password_config: {pepper: zero, localdb_enabled: false}\nallow_guest_access: false\n")
		writeFile(t, dir, "30-c.yml", "server_name: ignored-yml.example\n")
		writeFile(t, dir, "40-d.yaml.bak", "server_name: ignored-bak.example\n")
		writeFile(t, dir, "sub/50-e.yaml", "server_name: ignored-subdir.example\n")

		cfg, err := syn2mas.LoadSynapseConfig(main, dir)
		require.NoError(t, err)
		require.Equal(t, []string{main, filepath.Join(dir, "10-a.yaml"), filepath.Join(dir, "20-b.yaml")}, cfg.Files)
		require.Equal(t, "example.com", cfg.ServerName)
		require.True(t, cfg.EnableRegistration)
		require.True(t, cfg.AllowGuestAccess, "20-b.yaml is read after 10-a.yaml")
		require.Equal(t, syn2mas.PasswordConfig{Enabled: true, LocalDBEnabled: true, Pepper: "two"}, cfg.Password)
	})

	t.Run("FileAfterDirectoryWins", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		dir := filepath.Join(root, "conf.d")
		writeFile(t, dir, "a.yaml", "server_name: from-dir\n")
		last := writeFile(t, root, "last.yaml", "server_name: from-last\n")
		cfg, err := syn2mas.LoadSynapseConfig(dir, last)
		require.NoError(t, err)
		require.Equal(t, "from-last", cfg.ServerName)
	})

	t.Run("EmptyDirectoryLeavesServerNameMissing", func(t *testing.T) {
		t.Parallel()
		_, err := syn2mas.LoadSynapseConfig(t.TempDir())
		require.ErrorContains(t, err, "server_name: required setting is not set")
	})

	t.Run("TypeErrorNamesTheFileTheValueCameFrom", func(t *testing.T) {
		t.Parallel()
		_, err := loadSynapse(t, "server_name: e\njwt_config: {enabled: nope}\n", "allow_guest_access: false\n")
		var ce *syn2mas.ConfigError
		require.True(t, errors.As(err, &ce))
		require.Equal(t, "file0.yaml", filepath.Base(ce.File))
		require.Equal(t, "jwt_config.enabled", ce.Key)
	})
}
