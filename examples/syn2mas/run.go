package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/masstore/masstore/syn2mas"
)

// Exit statuses.
const (
	exitOK           = 0
	exitCouldNotRun  = 1
	exitUsage        = 2
	exitErrors       = 10
	exitWarningsOnly = 11
)

const usage = `usage: syn2mas check --config mas.yaml --synapse-config homeserver.yaml
                     [--synapse-config more.yaml|dir/]... [--synapse-database-uri URI]
                     [--ignore-missing-auth-providers] [--json] [--allow-warnings]
       syn2mas migrate --config mas.yaml --synapse-config homeserver.yaml
                     [--synapse-config more.yaml|dir/]... [--synapse-database-uri URI]
                     [--database-url URL] [--ignore-missing-auth-providers] [--dry-run] [--json]

check: whether a Synapse homeserver can be migrated to MAS.
  Exit status: 0 no findings, 10 errors, 11 warnings only (0 with --allow-warnings),
  1 the check could not run, 2 usage error.
migrate: the schema migrations, the MAS configuration's upstream providers, the
  checks (errors stop it, warnings are printed), then the migration itself into
  the MAS database (database.uri of the MAS configuration, or --database-url).
  Stop Synapse first; --dry-run may run beside it and leaves nothing behind.
  Exit status: 0 migrated, 10 the checks found errors, 1 the migration failed
  (nothing is left half-done: rerun it), 2 usage error.
`

// run is the command with its arguments (without the program name); it
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "syn2mas: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// pathList is a repeatable flag.
type pathList []string

// String joins the paths given so far.
func (p *pathList) String() string { return strings.Join(*p, ",") }

// Set adds one path; the flag may be repeated.
func (p *pathList) Set(s string) error {
	*p = append(*p, s)
	return nil
}

// sharedFlags are the flags check and migrate have in common.
type sharedFlags struct {
	masConfig      string
	synapseConfigs []string
	synapseDBURI   string
	ignoreMissing  bool
	json           bool
}

// newFlagSet returns the command's flag set with the shared flags on it.
func (c *sharedFlags) newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, usage) }
	fset.StringVar(&c.masConfig, "config", "", "MAS configuration `file`")
	fset.Var((*pathList)(&c.synapseConfigs), "synapse-config", "Synapse configuration `file or directory` (repeatable)")
	fset.StringVar(&c.synapseDBURI, "synapse-database-uri", "", "Synapse database `URI`, overriding the Synapse configuration")
	fset.BoolVar(&c.ignoreMissing, "ignore-missing-auth-providers", false, "treat users of providers Synapse no longer configures as warnings, and skip their links")
	fset.BoolVar(&c.json, "json", false, "print the result as JSON")
	return fset
}

// parse parses args and checks what every command needs.
func (c *sharedFlags) parse(fset *flag.FlagSet, args []string) error {
	if err := fset.Parse(args); err != nil {
		return err
	}
	switch {
	case fset.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fset.Arg(0))
	case c.masConfig == "":
		return errors.New("--config (the MAS configuration) is required")
	case len(c.synapseConfigs) == 0:
		return errors.New("--synapse-config (the Synapse configuration) is required")
	}
	return nil
}

type checkFlags struct {
	sharedFlags
	allowWarnings bool
}

func parseCheckFlags(args []string, stderr io.Writer) (checkFlags, error) {
	var c checkFlags
	fset := c.newFlagSet("syn2mas check", stderr)
	fset.BoolVar(&c.allowWarnings, "allow-warnings", false, "exit 0 when there are warnings but no errors")
	return c, c.parse(fset, args)
}

// usageError reports err for the command and returns the usage status (0
// for -help).
func usageError(command string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "syn2mas %s: %v\n\n%s", command, err, usage)
	return exitUsage
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseCheckFlags(args, stderr)
	if err != nil {
		return usageError("check", err, stderr)
	}
	findings, err := syn2mas.Check(ctx, syn2mas.Options{
		SynapseConfigPaths:         c.synapseConfigs,
		MASConfigPath:              c.masConfig,
		SynapseDatabaseURI:         c.synapseDBURI,
		IgnoreMissingAuthProviders: c.ignoreMissing,
	})
	if err != nil {
		fmt.Fprintf(stderr, "syn2mas check: could not check: %v\n", err)
		return exitCouldNotRun
	}
	if c.json {
		err = printJSON(stdout, findings)
	} else {
		err = printHuman(stdout, findings, c.allowWarnings)
	}
	if err != nil {
		fmt.Fprintf(stderr, "syn2mas check: write output: %v\n", err)
		return exitCouldNotRun
	}
	return exitStatus(findings, c.allowWarnings)
}

func exitStatus(fs syn2mas.Findings, allowWarnings bool) int {
	switch {
	case len(fs.Errors()) > 0:
		return exitErrors
	case len(fs.Warnings()) > 0 && !allowWarnings:
		return exitWarningsOnly
	}
	return exitOK
}

// printJSON writes the findings as a JSON array ([] when there are none).
func printJSON(w io.Writer, fs syn2mas.Findings) error {
	if fs == nil {
		fs = syn2mas.Findings{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(fs)
}

// printHuman writes errors, then warnings, each finding as a paragraph.
func printHuman(w io.Writer, fs syn2mas.Findings, allowWarnings bool) error {
	errs, warns := fs.Errors(), fs.Warnings()
	var b strings.Builder
	if len(fs) == 0 {
		b.WriteString("No problems found: the migration can start.\n")
	}
	group := func(title string, list syn2mas.Findings) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s (%d):\n", title, len(list))
		for _, f := range list {
			fmt.Fprintf(&b, "  - [%s] %s\n", f.Code, f.Message)
		}
		b.WriteString("\n")
	}
	group("Errors", errs)
	group("Warnings", warns)
	switch {
	case len(errs) > 0:
		fmt.Fprintf(&b, "%s and %s: fix the errors before migrating.\n", plural(len(errs), "error"), plural(len(warns), "warning"))
	case len(warns) > 0 && allowWarnings:
		fmt.Fprintf(&b, "%s, accepted with --allow-warnings: the migration can start.\n", plural(len(warns), "warning"))
	case len(warns) > 0:
		fmt.Fprintf(&b, "%s and no errors: read them, then rerun with --allow-warnings to accept them.\n", plural(len(warns), "warning"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
