// Package syn2mas implements the check phase of a Synapse → MAS migration.
//
// Before anything is migrated, three inputs are inspected: the Synapse
// configuration (one or more YAML files or directories, merged at the top
// level as Synapse merges them), the MAS configuration, and the Synapse
// PostgreSQL database. Each check returns [Finding] values: errors mean the
// migration must not start, warnings are for the operator to read and accept.
//
// A check returns an error only when it could not run (an unreadable or
// malformed file, an unreachable database, a database that is not
// Synapse's). Findings are never reported as errors, so a caller can always
// tell "the migration is blocked" from "we could not find out".
//
// [Check] runs everything; the individual checks ([CheckSynapseConfig],
// [CheckAgainstMAS], [CheckDatabase] and the database checks it is made of)
// can be run on their own.
//
// Where the specification is silent, the behaviour follows Synapse rather
// than MAS's own syn2mas tool: the configuration files are merged at the top
// level only, boolean values accept YAML 1.1's yes/no/on/off as PyYAML does,
// and `cas_config` and `saml2_config` are enabled by default once present.
package syn2mas
