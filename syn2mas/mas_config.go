package syn2mas

import (
	"fmt"
	"os"
)

// MASConfig is the part of MAS's configuration syn2mas reads.
type MASConfig struct {
	// File is the file that was read.
	File string
	// Homeserver is `matrix.homeserver`, the server name MAS serves ("" when
	// absent).
	Homeserver string
	// PasswordSchemes is `passwords.schemes`. When the setting is absent it
	// holds MAS's default, a single version 1 argon2id scheme.
	PasswordSchemes []PasswordScheme
	// CaptchaService is `captcha.service` ("" when no CAPTCHA is configured).
	CaptchaService string
	// TOSURI is `branding.tos_uri` ("" when absent).
	TOSURI string
	// DatabaseURI is `database.uri`, the MAS database ("" when absent).
	DatabaseURI string
	// UpstreamProviders is `upstream_oauth2.providers`.
	UpstreamProviders []UpstreamProvider
}

// PasswordScheme is one entry of MAS's `passwords.schemes`.
type PasswordScheme struct {
	// Version is `version`.
	Version int
	// Algorithm is `algorithm`, e.g. "bcrypt" or "argon2id".
	Algorithm string
	// Secret is `secret`, the pepper ("" when absent).
	Secret string
	// SecretFile is `secret_file`, a file holding the pepper ("" when absent).
	SecretFile string
}

// LoadSecret returns the scheme's pepper: Secret, or the content of
// SecretFile, read as MAS reads it (whole, nothing trimmed). "" means none.
func (s PasswordScheme) LoadSecret() (string, error) {
	if s.SecretFile == "" {
		return s.Secret, nil
	}
	b, err := os.ReadFile(s.SecretFile)
	if err != nil {
		return "", fmt.Errorf("read MAS password scheme %d secret_file: %w", s.Version, err)
	}
	return string(b), nil
}

// UpstreamProvider is one entry of MAS's `upstream_oauth2.providers`.
type UpstreamProvider struct {
	// ID is `id`.
	ID string
	// Issuer is `issuer`.
	Issuer string
	// SynapseIDPID is `synapse_idp_id`, the Synapse provider whose users this
	// provider takes over ("" when absent).
	SynapseIDPID string
	// ClientID is `client_id`.
	ClientID string
	// Scope is `scope`.
	Scope string
	// TokenEndpointAuthMethod is `token_endpoint_auth_method`.
	TokenEndpointAuthMethod string
	// HumanName is `human_name` ("" when absent).
	HumanName string
	// BrandName is `brand_name` ("" when absent).
	BrandName string
}

// defaultPasswordSchemes is what MAS uses when `passwords.schemes` is absent.
func defaultPasswordSchemes() []PasswordScheme {
	return []PasswordScheme{{Version: 1, Algorithm: "argon2id"}}
}

// LoadMASConfig reads the MAS configuration file. Unknown keys are ignored;
// an unreadable file, malformed YAML and settings of the wrong type are
// errors naming the file and line ([*ConfigError]).
func LoadMASConfig(path string) (*MASConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read MAS config: %w", err)
	}
	root, err := parseYAMLMapping(path, data)
	if err != nil {
		return nil, err
	}
	top := value{file: path, node: root}
	d := &decoder{}
	cfg := &MASConfig{
		File:           path,
		Homeserver:     d.str(d.get(d.get(top, "matrix"), "homeserver")),
		CaptchaService: d.str(d.get(d.get(top, "captcha"), "service")),
		TOSURI:         d.str(d.get(d.get(top, "branding"), "tos_uri")),
		DatabaseURI:    d.str(d.get(d.get(top, "database"), "uri")),
	}
	schemes := d.get(d.get(top, "passwords"), "schemes")
	if schemes.absent() {
		cfg.PasswordSchemes = defaultPasswordSchemes()
	}
	for _, item := range d.list(schemes) {
		cfg.PasswordSchemes = append(cfg.PasswordSchemes, decodePasswordScheme(d, item))
	}
	for _, item := range d.list(d.get(d.get(top, "upstream_oauth2"), "providers")) {
		cfg.UpstreamProviders = append(cfg.UpstreamProviders, UpstreamProvider{
			ID:           d.str(d.get(item, "id")),
			Issuer:       d.str(d.get(item, "issuer")),
			SynapseIDPID: d.str(d.get(item, "synapse_idp_id")),
			ClientID:     d.str(d.get(item, "client_id")),
			Scope:        d.str(d.get(item, "scope")),
			HumanName:    d.str(d.get(item, "human_name")),
			BrandName:    d.str(d.get(item, "brand_name")),

			TokenEndpointAuthMethod: d.str(d.get(item, "token_endpoint_auth_method")),
		})
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func decodePasswordScheme(d *decoder, v value) PasswordScheme {
	if v.absent() {
		d.add(v.errorf("expected a password scheme mapping, got nothing"))
		return PasswordScheme{}
	}
	s := PasswordScheme{
		Version:    d.integer(d.get(v, "version"), 0),
		Algorithm:  d.str(d.get(v, "algorithm")),
		Secret:     d.str(d.get(v, "secret")),
		SecretFile: d.str(d.get(v, "secret_file")),
	}
	if s.Secret != "" && s.SecretFile != "" {
		d.add(v.errorf("both secret and secret_file are set; MAS accepts only one"))
	}
	return s
}
