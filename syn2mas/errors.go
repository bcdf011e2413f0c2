package syn2mas

import (
	"errors"
	"fmt"
)

// ErrUnsupportedDatabase is returned (wrapped) by [SynapseDSN] and [Check]
// when Synapse's `database.name` is not psycopg2, for example sqlite3: only
// a PostgreSQL database can be migrated.
var ErrUnsupportedDatabase = errors.New("database not supported")

// ErrNotSynapseDatabase is returned (wrapped, with the missing table or
// column named) by [VerifySynapseSchema], [CheckDatabase] and [Check] when
// the database lacks Synapse's tables, for example an empty database.
var ErrNotSynapseDatabase = errors.New("not a Synapse database")

// ConfigError is a problem with a configuration file's content: malformed
// YAML, a document that is not a mapping, a value of the wrong type, or a
// required setting that is missing. It is returned by [LoadSynapseConfig] and
// [LoadMASConfig], possibly several joined with [errors.Join].
type ConfigError struct {
	// File is the file the problem is in.
	File string
	// Line and Column locate the problem in File, 1-based; 0 when unknown.
	Line, Column int
	// Key is the dotted path of the setting, e.g. "password_config.enabled";
	// empty for problems with the file as a whole.
	Key string
	// Msg describes the problem.
	Msg string
}

// Error formats the problem as file:line:column: key: message.
func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
		if e.Column > 0 {
			loc = fmt.Sprintf("%s:%d", loc, e.Column)
		}
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}
