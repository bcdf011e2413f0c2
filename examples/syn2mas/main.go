// Command syn2mas moves a Synapse homeserver's accounts to MAS, as
// `mas-cli syn2mas` does: check reports what would block the migration,
// migrate performs it.
//
//	syn2mas check --config mas.yaml --synapse-config homeserver.yaml \
//		[--synapse-config more.yaml|conf.d/]... [--synapse-database-uri URI] \
//		[--ignore-missing-auth-providers] [--json] [--allow-warnings]
//
//	syn2mas migrate --config mas.yaml --synapse-config homeserver.yaml \
//		[--synapse-config more.yaml|conf.d/]... [--synapse-database-uri URI] \
//		[--database-url URL] [--ignore-missing-auth-providers] [--dry-run] [--json]
//
// check exits 0 with no findings (or warnings only, with --allow-warnings),
// 10 with errors, 11 with warnings only, 1 when it could not run, 2 on a
// usage error. migrate exits 0 when migrated, 10 when the checks found
// errors, 1 when it failed (nothing is left half-done), 2 on a usage error.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
