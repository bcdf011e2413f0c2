package cleanup

import "errors"

// ErrInvalidOptions is returned by Run and RunAll, before anything runs, when
// options, the repository or the clock are unusable; the message names each
// problem.
var ErrInvalidOptions = errors.New("invalid cleanup options")

// ErrDryRunNeedsStore is returned for a dry run on a repository that cannot
// roll back (it is not a storage.Store).
var ErrDryRunNeedsStore = errors.New("dry run needs a storage.Store to roll back")
