// Command syn2mas runs the check phase of a Synapse → MAS migration, as
// `mas-cli syn2mas check` does, and reports what would block the migration.
//
//	syn2mas check --config mas.yaml --synapse-config homeserver.yaml \
//		[--synapse-config more.yaml|conf.d/]... [--synapse-database-uri URI] \
//		[--ignore-missing-auth-providers] [--json] [--allow-warnings]
//
// Exit status: 0 no findings (or warnings only, with --allow-warnings);
// 10 errors found; 11 warnings only; 1 the check could not run; 2 usage.
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
