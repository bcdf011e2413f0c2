package syn2mas

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// DatabaseConfig is Synapse's `database` section. Its String method hides
// the password, so the value can be printed.
type DatabaseConfig struct {
	// File is the configuration file the section came from.
	File string
	// Name is `name`: "psycopg2" for PostgreSQL, "sqlite3" for SQLite.
	Name string
	// Host, Port, User, Password and DBName are `args.host`, `args.port`,
	// `args.user`, `args.password` and `args.dbname` (or `args.database`);
	// "" when absent.
	Host, Port, User, Password, DBName string
	// Params holds the other libpq parameters carried over from `args`
	// (sslmode, sslcert, sslkey, sslrootcert, connect_timeout,
	// application_name).
	Params map[string]string
}

// String describes the section with the password hidden.
func (c DatabaseConfig) String() string {
	pw := ""
	if c.Password != "" {
		pw = redacted
	}
	return fmt.Sprintf("{name=%s host=%s port=%s user=%s password=%s dbname=%s}",
		c.Name, c.Host, c.Port, c.User, pw, c.DBName)
}

// GoString is String, so that %#v does not print the password either.
func (c DatabaseConfig) GoString() string { return c.String() }

const redacted = "xxxxx"

// LookupEnv looks up an environment variable; [os.LookupEnv] is one.
type LookupEnv func(key string) (string, bool)

// SynapseDSN returns the libpq connection string for the database Synapse's
// configuration names. Settings missing from `database.args` come from
// libpq's environment variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE, PGSSLMODE) read through lookupEnv (nil for [os.LookupEnv]);
// sslmode defaults to libpq's "prefer", which psycopg2 uses, rather than lib/pq's
// "require". The result contains the password: print it through [RedactDSN].
//
// A configuration without a database section (Synapse then uses SQLite) or
// with a `database.name` other than psycopg2 is an error wrapping
// [ErrUnsupportedDatabase].
func SynapseDSN(cfg *SynapseConfig, lookupEnv LookupEnv) (string, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	db := cfg.Database
	if db == nil {
		return "", fmt.Errorf("synapse config has no database section, so Synapse uses SQLite: %w: only PostgreSQL (psycopg2) can be migrated", ErrUnsupportedDatabase)
	}
	if db.Name != "psycopg2" {
		name := db.Name
		if name == "" {
			name = "<unset>"
		}
		return "", fmt.Errorf("%s: database.name %q: %w: only PostgreSQL (psycopg2) can be migrated", db.File, name, ErrUnsupportedDatabase)
	}
	var parts []string
	add := func(key, v, env string) {
		if v == "" && env != "" {
			v, _ = lookupEnv(env)
		}
		if v != "" {
			parts = append(parts, key+"="+quoteDSNValue(v))
		}
	}
	add("host", db.Host, "PGHOST")
	add("port", db.Port, "PGPORT")
	add("user", db.User, "PGUSER")
	add("password", db.Password, "PGPASSWORD")
	add("dbname", db.DBName, "PGDATABASE")
	sslmode := db.Params["sslmode"]
	if sslmode == "" {
		if sslmode, _ = lookupEnv("PGSSLMODE"); sslmode == "" {
			sslmode = string(pq.SSLModePrefer)
		}
	}
	add("sslmode", sslmode, "")
	keys := make([]string, 0, len(db.Params))
	for k := range db.Params {
		if k != "sslmode" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(k, db.Params[k], "")
	}
	return strings.Join(parts, " "), nil
}

func quoteDSNValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// OpenDatabase connects to the PostgreSQL database dsn names (a URI or a
// libpq key=value string) and checks that it answers. Without an sslmode in
// dsn or PGSSLMODE, libpq's "prefer" is used. Errors never contain the
// password.
func OpenDatabase(ctx context.Context, dsn string) (*sqlx.DB, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database connection string %s: %w", RedactDSN(dsn), scrubError(err, dsn))
	}
	if cfg.SSLMode == "" {
		cfg.SSLMode = pq.SSLModePrefer
	}
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("database connection string %s: %w", RedactDSN(dsn), scrubError(err, dsn))
	}
	db := sqlx.NewDb(sql.OpenDB(connector), "postgres")
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to database %s: %w", RedactDSN(dsn), scrubError(err, dsn))
	}
	return db, nil
}

var dsnPassword = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// RedactDSN returns dsn (a URI or a key=value string) with its password
// replaced by xxxxx, for messages and logs.
func RedactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			if pw := dsnPasswordValue(dsn); pw != "" {
				return strings.Replace(dsn, ":"+pw+"@", ":"+redacted+"@", 1)
			}
			return dsn
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", redacted)
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return dsnPassword.ReplaceAllString(dsn, "${1}"+redacted)
}

// scrubError keeps err's text free of the password: parse errors quote the
// connection string they failed on.
func scrubError(err error, dsn string) error {
	msg := err.Error()
	clean := strings.ReplaceAll(msg, dsn, RedactDSN(dsn))
	if pw := dsnPasswordValue(dsn); pw != "" {
		clean = strings.ReplaceAll(clean, pw, redacted)
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

func dsnPasswordValue(dsn string) string {
	if strings.Contains(dsn, "://") {
		if u, err := url.Parse(dsn); err == nil {
			if pw, ok := u.User.Password(); ok {
				return pw
			}
			return u.Query().Get("password")
		}
		// Unparsable: take what sits between "user:" and "@".
		rest := dsn[strings.Index(dsn, "://")+3:]
		if at := strings.LastIndex(rest, "@"); at > 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				return rest[c+1 : at]
			}
		}
		return ""
	}
	m := dsnPassword.FindStringSubmatch(dsn)
	if m == nil {
		return ""
	}
	return strings.Trim(m[2], "'")
}
