package syn2mas

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SynapseConfig is the part of Synapse's configuration the checks read.
// Booleans hold Synapse's default when the setting is absent.
type SynapseConfig struct {
	// Files are the files that were read, in merge order.
	Files []string

	// ServerName is `server_name`, the server part of every local Matrix ID.
	ServerName string
	// Database is the `database` section; nil when the section is absent.
	Database *DatabaseConfig

	// AllowGuestAccess is `allow_guest_access`.
	AllowGuestAccess bool
	// EnableRegistration is `enable_registration`.
	EnableRegistration bool
	// EnableRegistrationCaptcha is `enable_registration_captcha`.
	EnableRegistrationCaptcha bool
	// Enable3PIDChanges is `enable_3pid_changes`: nil when absent, because an
	// explicit true is what the checks object to.
	Enable3PIDChanges *bool
	// UserConsent reports whether a `user_consent` section is present.
	UserConsent bool
	// LoginViaExistingSession is `login_via_existing_session.enabled`.
	LoginViaExistingSession bool
	// CASEnabled is `cas_config.enabled`, which Synapse defaults to true once
	// the section is present.
	CASEnabled bool
	// SAML2Enabled is `saml2_config.enabled`, which Synapse defaults to true
	// once the section is present.
	SAML2Enabled bool
	// JWTEnabled is `jwt_config.enabled`.
	JWTEnabled bool
	// Password is `password_config`.
	Password PasswordConfig

	// LegacyOIDC is the legacy single-provider `oidc_config`; nil when absent.
	LegacyOIDC *OIDCProvider
	// OIDCProviders is `oidc_providers`.
	OIDCProviders []OIDCProvider
}

// PasswordConfig is Synapse's `password_config`.
type PasswordConfig struct {
	// Enabled is `enabled` (default true); Synapse's "only_for_reauth" counts
	// as enabled, since users still have password hashes.
	Enabled bool
	// LocalDBEnabled is `localdb_enabled` (default true); false means a
	// password provider module checks the passwords instead.
	LocalDBEnabled bool
	// Pepper is `pepper`, appended to passwords before hashing ("" for none).
	Pepper string
}

// OIDCProvider is one OpenID Connect provider of Synapse's configuration.
type OIDCProvider struct {
	// IDPID is `idp_id` as written ("" when absent). See [ProviderID] for
	// the id Synapse derives from it.
	IDPID string
	// Issuer is `issuer` ("" when absent).
	Issuer string
	// ClientID is `client_id` ("" when absent).
	ClientID string
}

// LoadSynapseConfig reads Synapse's configuration from files and
// directories. A directory contributes its regular `*.yaml` files in name
// order, as Synapse reads them. Files are merged at the top level only: a key
// in a later file replaces the whole value from earlier files, nested maps
// included. Unknown keys are ignored; empty files are skipped.
//
// Unreadable files, malformed YAML and settings of the wrong type are
// errors naming the file and, where there is one, the line ([*ConfigError]).
func LoadSynapseConfig(paths ...string) (*SynapseConfig, error) {
	if len(paths) == 0 {
		return nil, errors.New("load synapse config: no file given")
	}
	files, err := synapseConfigFiles(paths)
	if err != nil {
		return nil, err
	}
	top := map[string]value{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read synapse config: %w", err)
		}
		root, err := parseYAMLMapping(f, data)
		if err != nil {
			return nil, err
		}
		// Synapse merges with dict.update: whole top-level values replace.
		for k, n := range mappingEntries(root) {
			top[k] = value{file: f, key: k, node: resolveAlias(n)}
		}
	}
	cfg, err := decodeSynapseConfig(files, top)
	if err != nil {
		return nil, err
	}
	cfg.Files = files
	return cfg, nil
}

// synapseConfigFiles expands directories the way Synapse does: their
// regular files ending in ".yaml", sorted; subdirectories and other files
// are ignored.
func synapseConfigFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read synapse config: %w", err)
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("read synapse config directory: %w", err)
		}
		var inDir []string
		for _, e := range entries {
			full := filepath.Join(p, e.Name())
			if !strings.HasSuffix(e.Name(), ".yaml") {
				continue
			}
			if st, err := os.Stat(full); err != nil || !st.Mode().IsRegular() {
				continue
			}
			inDir = append(inDir, full)
		}
		sort.Strings(inDir)
		files = append(files, inDir...)
	}
	return files, nil
}

// mappingEntries returns the settings of a mapping by key, including those
// brought in by merge keys (<<), in one pass: explicit keys win (the last
// duplicate, as in PyYAML), then earlier merge sources over later ones. Each
// mapping is visited once, however often aliases repeat it.
func mappingEntries(m *yaml.Node) map[string]*yaml.Node {
	entries := map[string]*yaml.Node{}
	visited := map[*yaml.Node]bool{}
	var walk func(m *yaml.Node)
	walk = func(m *yaml.Node) {
		if visited[m] {
			return
		}
		visited[m] = true
		own := map[string]*yaml.Node{}
		var merges []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := resolveAlias(m.Content[i])
			switch {
			case k == nil || k.Kind != yaml.ScalarNode:
			case k.ShortTag() == "!!merge":
				merges = append(merges, mergeSources(m.Content[i+1])...)
			default:
				own[k.Value] = m.Content[i+1]
			}
		}
		for k, n := range own {
			if _, ok := entries[k]; !ok {
				entries[k] = n
			}
		}
		for _, s := range merges {
			walk(s)
		}
	}
	if m != nil {
		walk(m)
	}
	return entries
}

func decodeSynapseConfig(files []string, top map[string]value) (*SynapseConfig, error) {
	get := func(key string) value {
		if v, ok := top[key]; ok {
			return v
		}
		return value{key: key}
	}
	d := &decoder{}
	cfg := &SynapseConfig{
		ServerName:                d.str(get("server_name")),
		Database:                  decodeDatabase(d, get("database")),
		AllowGuestAccess:          d.boolean(get("allow_guest_access"), false),
		EnableRegistration:        d.boolean(get("enable_registration"), false),
		EnableRegistrationCaptcha: d.boolean(get("enable_registration_captcha"), false),
		Enable3PIDChanges:         d.optBool(get("enable_3pid_changes")),
		UserConsent:               !get("user_consent").absent(),
		LoginViaExistingSession:   d.boolean(d.get(get("login_via_existing_session"), "enabled"), false),
		CASEnabled:                decodeEnableable(d, get("cas_config"), true),
		SAML2Enabled:              decodeEnableable(d, get("saml2_config"), true),
		JWTEnabled:                decodeEnableable(d, get("jwt_config"), false),
		Password:                  decodePasswordConfig(d, get("password_config")),
	}
	if legacy := get("oidc_config"); !legacy.absent() {
		p := decodeOIDCProvider(d, legacy)
		cfg.LegacyOIDC = &p
	}
	for _, item := range d.list(get("oidc_providers")) {
		if item.absent() {
			d.add(item.errorf("expected a provider mapping, got nothing"))
			continue
		}
		cfg.OIDCProviders = append(cfg.OIDCProviders, decodeOIDCProvider(d, item))
	}
	if sn := get("server_name"); cfg.ServerName == "" && (sn.absent() || sn.node.Kind == yaml.ScalarNode) {
		e := sn.errorf("required setting is not set")
		if e.File == "" {
			e.File = strings.Join(files, ", ")
		}
		d.add(e)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// decodeEnableable reads the `enabled` flag of a section such as
// `cas_config`: false when the section is absent or empty, def when the
// section is there without the flag.
func decodeEnableable(d *decoder, section value, def bool) bool {
	if section.absent() {
		return false
	}
	if section.node.Kind == yaml.MappingNode && len(section.node.Content) == 0 {
		return false
	}
	return d.boolean(d.get(section, "enabled"), def)
}

func decodePasswordConfig(d *decoder, v value) PasswordConfig {
	pc := PasswordConfig{
		LocalDBEnabled: d.boolean(d.get(v, "localdb_enabled"), true),
		Pepper:         d.str(d.get(v, "pepper")),
	}
	enabled := d.get(v, "enabled")
	if s, err := enabled.str(); err == nil && s == "only_for_reauth" {
		pc.Enabled = true
	} else {
		pc.Enabled = d.boolean(enabled, true)
	}
	return pc
}

func decodeOIDCProvider(d *decoder, v value) OIDCProvider {
	return OIDCProvider{
		IDPID:    d.str(d.get(v, "idp_id")),
		Issuer:   d.str(d.get(v, "issuer")),
		ClientID: d.str(d.get(v, "client_id")),
	}
}

// passthroughDBArgs are the libpq connection parameters, beyond the five
// every configuration has, that are carried from `database.args` to the
// connection: without them a server requiring client certificates could
// not be reached as Synapse reaches it.
var passthroughDBArgs = []string{"sslmode", "sslcert", "sslkey", "sslrootcert", "connect_timeout", "application_name"}

func decodeDatabase(d *decoder, v value) *DatabaseConfig {
	if v.absent() {
		return nil
	}
	args := d.get(v, "args")
	db := &DatabaseConfig{
		File:     v.file,
		Name:     d.str(d.get(v, "name")),
		Host:     d.str(d.get(args, "host")),
		User:     d.str(d.get(args, "user")),
		Password: d.str(d.get(args, "password")),
		DBName:   d.str(d.get(args, "dbname")),
	}
	if database := d.get(args, "database"); !database.absent() {
		if db.DBName != "" {
			d.add(database.errorf("set together with database.args.dbname; psycopg2 accepts only one of them"))
		}
		db.DBName = d.str(database)
	}
	if port := d.get(args, "port"); !port.absent() {
		db.Port = d.str(port)
		if n, err := strconv.Atoi(db.Port); db.Port != "" && (err != nil || n < 1 || n > 65535) {
			d.add(port.wrongType("a port number"))
		}
	}
	for _, k := range passthroughDBArgs {
		if s := d.str(d.get(args, k)); s != "" {
			if db.Params == nil {
				db.Params = map[string]string{}
			}
			db.Params[k] = s
		}
	}
	return db
}
