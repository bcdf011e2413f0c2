package syn2mas_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
)

// env is a fake environment for libpq's variables.
func env(vars map[string]string) syn2mas.LookupEnv {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestSynapseDSN(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		db   string
		env  map[string]string
		want string
	}{
		{"AllArgs",
			"{name: psycopg2, args: {user: syn, password: pw, database: synapse, host: db.internal, port: 5433}}", nil,
			"host='db.internal' port='5433' user='syn' password='pw' dbname='synapse' sslmode='prefer'"},
		{"EnvironmentFillsWhatIsMissing",
			"{name: psycopg2, args: {user: syn, dbname: synapse}}",
			map[string]string{"PGHOST": "/run/postgresql", "PGPORT": "6432", "PGUSER": "ignored", "PGPASSWORD": "envpw", "PGDATABASE": "ignored", "PGSSLMODE": "verify-full"},
			"host='/run/postgresql' port='6432' user='syn' password='envpw' dbname='synapse' sslmode='verify-full'"},
		{"EnvironmentOnly",
			"{name: psycopg2}",
			map[string]string{"PGHOST": "h", "PGUSER": "u", "PGDATABASE": "d"},
			"host='h' user='u' dbname='d' sslmode='prefer'"},
		{"ArgsSSLModeWins",
			"{name: psycopg2, args: {host: h, sslmode: disable, sslrootcert: /ca.pem, cp_min: 1}}",
			map[string]string{"PGSSLMODE": "require"},
			"host='h' sslmode='disable' sslrootcert='/ca.pem'"},
		{"QuotesValues",
			`{name: psycopg2, args: {password: "it's a \\ secret"}}`, nil,
			`password='it\'s a \\ secret' sslmode='prefer'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustLoadSynapse(t, "server_name: e\ndatabase: "+tt.db+"\n")
			dsn, err := syn2mas.SynapseDSN(cfg, env(tt.env))
			require.NoError(t, err)
			require.Equal(t, tt.want, dsn)
		})
	}

	t.Run("SQLiteIsNotSupported", func(t *testing.T) {
		t.Parallel()
		cfg := mustLoadSynapse(t, "server_name: e\ndatabase: {name: sqlite3, args: {database: /data/homeserver.db}}\n")
		_, err := syn2mas.SynapseDSN(cfg, env(nil))
		require.ErrorIs(t, err, syn2mas.ErrUnsupportedDatabase)
		require.ErrorContains(t, err, `database.name "sqlite3": database not supported: only PostgreSQL (psycopg2) can be migrated`)
		require.ErrorContains(t, err, "file0.yaml")
	})

	t.Run("NoDatabaseSectionMeansSQLite", func(t *testing.T) {
		t.Parallel()
		_, err := syn2mas.SynapseDSN(mustLoadSynapse(t, "server_name: e\n"), env(nil))
		require.ErrorIs(t, err, syn2mas.ErrUnsupportedDatabase)
		require.ErrorContains(t, err, "no database section")
	})
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]string{
		"postgres://syn:hunter2@db:5432/synapse?sslmode=disable": "postgres://syn:xxxxx@db:5432/synapse?sslmode=disable",
		"postgresql://db/synapse?password=hunter2&user=syn":      "postgresql://db/synapse?password=xxxxx&user=syn",
		"postgres://db/synapse":                                  "postgres://db/synapse",
		"host=db password='hunter 2' dbname=s":                   "host=db password=xxxxx dbname=s",
		"host=db password=hunter2 dbname=s":                      "host=db password=xxxxx dbname=s",
		`password='it\'s' user=u`:                                "password=xxxxx user=u",
		"postgres://u:hunter2@db:port/x":                         "postgres://u:xxxxx@db:port/x",
	} {
		require.Equal(t, want, syn2mas.RedactDSN(in), in)
	}
}

func TestOpenDatabaseErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	for _, dsn := range []string{
		"postgres://syn:hunter2@db:notaport/synapse",
		"postgres://syn:hunter2@127.0.0.1:1/synapse?connect_timeout=2",
		"host=127.0.0.1 port=1 user=syn password=hunter2 connect_timeout=2",
		"host=127.0.0.1 port=1 password=hunter2 sslmode=bogus",
	} {
		_, err := syn2mas.OpenDatabase(ctx, dsn)
		require.Error(t, err, dsn)
		require.NotContains(t, err.Error(), "hunter2", dsn)
	}
}
