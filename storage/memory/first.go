package memory

import (
	"container/heap"
	"slices"
)

// compareCandidates orders candidates by (time, ID); those of a cleanup
// ordered by ID all have the zero time.
func compareCandidates(a, b candidate) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return a.id.Compare(b.id)
}

// firstCandidates keeps the first limit, by compareCandidates, of the
// candidates offered to it. They are kept in a max-heap whose root is the
// last of them, the one a better candidate displaces, so that choosing k of
// n rows costs O(n log k) instead of sorting all n.
type firstCandidates struct {
	limit int
	h     []candidate
}

// Len, Less, Swap, Push and Pop make firstCandidates a heap.Interface
// whose root is its greatest candidate (Push and Pop go unused: the heap
// never grows or shrinks once built).
func (f *firstCandidates) Len() int { return len(f.h) }

// Less orders the heap greatest first.
func (f *firstCandidates) Less(i, j int) bool { return compareCandidates(f.h[i], f.h[j]) > 0 }

// Swap swaps two candidates of the heap.
func (f *firstCandidates) Swap(i, j int) { f.h[i], f.h[j] = f.h[j], f.h[i] }

// Push appends a candidate, for heap.Push.
func (f *firstCandidates) Push(x any) { f.h = append(f.h, x.(candidate)) }

// Pop removes the last candidate, for heap.Pop.
func (f *firstCandidates) Pop() any {
	c := f.h[len(f.h)-1]
	f.h = f.h[:len(f.h)-1]
	return c
}

// offer keeps c if it is among the first limit offered so far. Until limit
// are kept it only appends; the heap is built when the limit is reached.
func (f *firstCandidates) offer(c candidate) {
	switch {
	case len(f.h) < f.limit:
		f.h = append(f.h, c)
		if len(f.h) == f.limit {
			heap.Init(f)
		}
	case len(f.h) > 0 && compareCandidates(c, f.h[0]) < 0:
		f.h[0] = c
		heap.Fix(f, 0)
	}
}

// sorted returns the candidates kept, in order.
func (f *firstCandidates) sorted() []candidate {
	slices.SortFunc(f.h, compareCandidates)
	return f.h
}
