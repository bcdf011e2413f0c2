package cleanup

import (
	"context"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// nextBatch runs a job's next batch of at most limit candidates after the
// cursor `after` (that of the batches before). It returns the batch, whose
// Cursor is the run's cursor after it, and whether it was the last.
type nextBatch func(ctx context.Context, after storage.Cursor, limit int) (b storage.Batch, last bool, err error)

// batches returns how the job's run goes batch by batch: one CleanupFunc
// call each, or, when the job has a window and opts ask for one, deletes by
// ID out of windows read ahead.
func batches(job Job, repo storage.Repository, horizon time.Time, opts Options) nextBatch {
	if job.Window == nil || opts.WindowSize == 0 {
		clean := job.Method(repo)
		return func(ctx context.Context, after storage.Cursor, limit int) (storage.Batch, bool, error) {
			b, err := clean(ctx, after, horizon, limit)
			if err != nil {
				return b, false, err
			}
			if b.Scanned == 0 {
				b.Cursor = after
			}
			return b, b.Scanned < limit, nil
		}
	}
	read, del := job.Window(repo)
	w := &windows{read: read, del: del, horizon: horizon, size: opts.WindowSize}
	return w.next
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

	pending []ulid.ULID
	end     storage.Cursor // the cursor after the window being deleted
	last    bool           // the window being deleted is the last
}

func (w *windows) next(ctx context.Context, after storage.Cursor, limit int) (storage.Batch, bool, error) {
	if len(w.pending) == 0 {
		win, err := w.read(ctx, after, w.horizon, max(w.size, limit))
		if err != nil {
			return storage.Batch{}, false, err
		}
		if len(win.IDs) == 0 {
			return storage.Batch{Cursor: after}, true, nil
		}
		w.pending = slices.SortedFunc(slices.Values(win.IDs), ulid.ULID.Compare)
		w.end, w.last = win.Cursor, len(win.IDs) < max(w.size, limit)
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
	b.Cursor = w.end
	return b, w.last, nil
}
