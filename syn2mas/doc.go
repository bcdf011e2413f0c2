// Package syn2mas migrates a Synapse homeserver's accounts into MAS's schema:
// the check phase, then the migration itself ([Migrate]).
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
// [Migrate] writes what MAS's own `syn2mas migrate` writes, row for row:
// users, passwords, e-mail and other third-party IDs, upstream provider
// links, devices as compat sessions, and access and refresh tokens. It reads
// Synapse in one snapshot with its tables locked, loads MAS with COPY over
// several connections while the eight tables it fills are renamed and
// stripped of their indexes and keys, and rebuilds those in one transaction.
// A run that fails or is killed half-way never leaves a database that looks
// migrated: the next run (or the failing run itself) removes the rows and
// restores the schema.
//
// Where MAS's tool would write a database its own constraints refuse, this
// package skips the rows instead, counted as skipped: the tokens of hidden
// devices, of guest_device and of devices Synapse no longer has. A device
// whose hidden flag is NULL is a device (Synapse reads NULL as false; MAS's
// tool drops it).
//
// Where the specification is silent, the behaviour follows Synapse rather
// than MAS's own syn2mas tool: the configuration files are merged at the top
// level only, boolean values accept YAML 1.1's yes/no/on/off as PyYAML does,
// and `cas_config` and `saml2_config` are enabled by default once present.
package syn2mas
