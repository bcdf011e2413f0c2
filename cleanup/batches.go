package cleanup

import (
	"context"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// batcher is how a job's run goes batch by batch.
type batcher interface {
	// prepare does what precedes the next batch without locking anything
	// (reading a window); it is not part of the batch's duration.
	prepare(ctx context.Context, after storage.Cursor, limit int) error
	// next runs the next batch of at most limit candidates after the
	// cursor `after` (that of the batches before). It returns the batch,
	// whose Cursor is the run's cursor after it, and whether it was the last.
	next(ctx context.Context, after storage.Cursor, limit int) (b storage.Batch, last bool, err error)
}

// batches returns the job's batcher: one CleanupFunc call a batch, or, when
// the job has a window and opts ask for one, deletes by ID out of windows
// read ahead.
func batches(job Job, repo storage.Repository, now, horizon time.Time, opts Options) batcher {
	if job.Steps != nil {
		return &sequence{steps: job.Steps(repo, now, opts), horizon: horizon}
	}
	if job.Window == nil || opts.WindowSize == 0 {
		return statements{clean: job.Method(repo), horizon: horizon}
	}
	read, del := job.Window(repo)
	return &windows{read: read, del: del, horizon: horizon, size: opts.WindowSize}
}

// statements runs each batch as one CleanupFunc call.
type statements struct {
	clean   storage.CleanupFunc
	horizon time.Time
}

func (statements) prepare(context.Context, storage.Cursor, int) error { return nil }

func (s statements) next(ctx context.Context, after storage.Cursor, limit int) (storage.Batch, bool, error) {
	b, err := s.clean(ctx, after, s.horizon, limit)
	if err != nil {
		return b, false, err
	}
	if b.Scanned == 0 {
		b.Cursor = after
	}
	return b, b.Scanned < limit, nil
}

// sequence runs a job's steps one after the other, each as statements
// from the zero cursor: when a step's batch is its last, the batch reports
// the zero cursor, from which the next step starts.
type sequence struct {
	steps   []storage.CleanupFunc
	horizon time.Time
	step    int
}

func (*sequence) prepare(context.Context, storage.Cursor, int) error { return nil }

func (s *sequence) next(ctx context.Context, after storage.Cursor, limit int) (storage.Batch, bool, error) {
	if s.step >= len(s.steps) {
		return storage.Batch{Cursor: after}, true, nil // no steps at all
	}
	b, last, err := statements{clean: s.steps[s.step], horizon: s.horizon}.next(ctx, after, limit)
	if err != nil || !last || s.step == len(s.steps)-1 {
		return b, last, err
	}
	s.step++
	b.Cursor = storage.Cursor{}
	return b, false, nil
}

// windows deletes a job's candidates window by window: it reads a window of
// candidates in the job's order, sorts it by ID and deletes it in batches.
// The run's cursor moves to a window's end once the window is done, so a
// run stopped in a window's middle reports the cursor before that window.
type windows struct {
	read    storage.WindowFunc
	del     storage.DeleteFunc
	horizon time.Time
	size    int

	filled  bool           // a window was read and not yet all deleted
	pending []ulid.ULID    // its IDs not yet deleted, in ID order
	end     storage.Cursor // the cursor after it
	last    bool           // it was the last
}

func (w *windows) prepare(ctx context.Context, after storage.Cursor, limit int) error {
	if w.filled {
		return nil
	}
	limit = max(w.size, limit)
	win, err := w.read(ctx, after, w.horizon, limit)
	if err != nil {
		return err
	}
	w.filled = true
	w.pending = slices.SortedFunc(slices.Values(win.IDs), ulid.ULID.Compare)
	w.end, w.last = win.Cursor, len(win.IDs) < limit
	return nil
}

func (w *windows) next(ctx context.Context, after storage.Cursor, limit int) (storage.Batch, bool, error) {
	if len(w.pending) == 0 {
		// The window came back empty: nothing is left to delete.
		w.filled = false
		return storage.Batch{Cursor: after}, true, nil
	}
	ids := w.pending[:min(limit, len(w.pending))]
	deleted, err := w.del(ctx, ids, w.horizon)
	if err != nil {
		return storage.Batch{}, false, err
	}
	w.pending = w.pending[len(ids):]
	b := storage.Batch{Affected: deleted, Scanned: len(ids), Cursor: after}
	if len(w.pending) > 0 {
		return b, false, nil
	}
	w.filled = false
	b.Cursor = w.end
	return b, w.last, nil
}
