// Package storage defines the domain types of Matrix Authentication Service's
// data and one small repository interface per entity: what an identity server
// calls to create and end sessions, link upstream accounts and run its job
// queue, and what the cleanup jobs call to delete.
//
// Two implementations satisfy the interfaces: storage/postgres (on MAS's
// schema, see package schema) and storage/memory (the reference model and the
// zero-setup default). storage/storagetest holds the conformance suite both
// pass.
//
// Conventions every implementation keeps:
//
//   - Context first. Time comes from the Clock argument, never from the
//     machine or the database, and is stored at microsecond precision in UTC.
//   - IDs are ULIDs (stored as uuid); a new row's ID encodes its creation time.
//     A zero ulid.ULID in an optional reference field means "none".
//   - Errors wrap the sentinels of errors.go; check them with errors.Is.
//   - Cleanup methods share one contract, described on [CleanupFunc].
package storage
