package syn2mas_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/masstore/masstore/syn2mas"
)

// FuzzLoadSynapseConfig feeds the loader two arbitrary files, merged as
// Synapse merges them, and everything that reads the result: none of it may
// panic, and the loader returns a configuration or an error, never neither.
func FuzzLoadSynapseConfig(f *testing.F) {
	seeds := [][2]string{
		{"server_name: example.com\n", ""},
		{"server_name: e\ndatabase: {name: psycopg2, args: {port: 5432, password: p}}\n", "database: {name: sqlite3}\n"},
		{"server_name: e\noidc_providers: [{idp_id: x}, null, 3]\n", "oidc_config: {issuer: i, client_id: c}\n"},
		{"server_name: e\npassword_config: {enabled: only_for_reauth, pepper: 1}\n", "password_config: [1]\n"},
		{"a: &a [*a]\nserver_name: *a\n", "b: &b {c: *b}\ncas_config: *b\n"},
		{"<<: {server_name: e}\n", "cas_config: {<<: [{enabled: yes}, 3]}\n"},
		{"- 1\n", "\"unterminated\n"},
		{"server_name: e\n---\n---\n", "\t\x00\xff"},
		{"? [complex, key]\n: value\nserver_name: e\n", "~\n"},
		{"server_name: !!binary aGVsbG8=\nenable_3pid_changes: !!bool maybe\n", "user_consent: !custom {}\n"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
		if err := os.WriteFile(a, []byte(first), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(b, []byte(second), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := syn2mas.LoadSynapseConfig(a, b)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("LoadSynapseConfig returned config %v and error %v", cfg, err)
		}
		if err != nil {
			_ = err.Error()
			return
		}
		_ = syn2mas.CheckSynapseConfig(cfg)
		_ = cfg.AuthProviders()
		_, _ = syn2mas.SynapseDSN(cfg, func(string) (string, bool) { return "", false })
		mas := &syn2mas.MASConfig{Homeserver: "example.com", PasswordSchemes: []syn2mas.PasswordScheme{{Version: 1, Algorithm: "bcrypt"}}}
		if _, err := syn2mas.CheckAgainstMAS(cfg, mas); err != nil {
			t.Fatalf("CheckAgainstMAS without a secret_file: %v", err)
		}
	})
}
