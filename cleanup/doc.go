// Package cleanup holds the retention jobs of Matrix Authentication Service
// as pure functions: each takes a repository, a clock and options, deletes (or,
// for IP addresses, clears) what has been stale for longer than its retention,
// batch by batch, and returns a report. There are no goroutines, tickers or
// SQL here: the host's scheduler decides when a job runs, and the repository
// (storage/postgres or storage/memory) how a batch is done.
//
// A job is data ([Job]): its name, what it deletes, its default retention and
// cadence, and the repository method it drives. One engine ([Run]) runs any
// job: it reads the clock once, computes the horizon, calls the method batch
// after batch with the cursor the last batch returned, and stops when a batch
// comes back short, when a limit is reached, or when the context ends. With
// Options.WindowSize, the jobs that have a window ([Job].Window) read that
// many candidates ahead and delete them batch by batch in ID order.
//
// [Jobs] lists MAS's 18 jobs in the order that keeps back-channel logout
// working (compat and OAuth 2.0 sessions before browser sessions, browser
// sessions before upstream logins); [ExtraJobs] lists what MAS never cleans.
package cleanup
