package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// policyData is the storage.PolicyDataRepository.
type policyData struct{ ext sqlx.ExtContext }

// Set stores data as the newest version of the policy data.
func (r policyData) Set(ctx context.Context, clock storage.Clock, data json.RawMessage) (*storage.PolicyData, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("set policy data: not valid JSON: %w", storage.ErrInvalidArgument)
	}
	now := storage.Now(clock)
	p := &storage.PolicyData{ID: ulidx.New(now), CreatedAt: now}
	var stored []byte
	err := r.ext.QueryRowxContext(ctx, `
		INSERT INTO policy_data (policy_data_id, created_at, data) VALUES ($1, $2, $3)
		RETURNING data`, key(p.ID), now, []byte(data)).Scan(&stored)
	if err != nil {
		return nil, fmt.Errorf("set policy data: %w", translate(err))
	}
	p.Data = stored
	return p, nil
}

// Latest returns the version in force: the one with the largest ID.
func (r policyData) Latest(ctx context.Context) (*storage.PolicyData, error) {
	var (
		p       storage.PolicyData
		created time.Time
		data    []byte
	)
	err := r.ext.QueryRowxContext(ctx, `
		SELECT policy_data_id, created_at, data FROM policy_data
		ORDER BY policy_data_id DESC LIMIT 1`).Scan(idCol{&p.ID}, &created, &data)
	if err != nil {
		return nil, fmt.Errorf("latest policy data: %w", translate(err))
	}
	p.CreatedAt, p.Data = created.UTC(), data
	return &p, nil
}

// Prune deletes the versions older than the newest keep, created before
// `before`, in ID order.
func (r policyData) Prune(ctx context.Context, after storage.Cursor, before time.Time, keep, limit int) (storage.Batch, error) {
	if keep < 1 {
		return storage.Batch{}, fmt.Errorf("prune policy data: keep %d: at least 1 is kept: %w", keep, storage.ErrInvalidArgument)
	}
	// keep is an int, so formatting it into the statement is safe; the
	// statement's parameters are those of every ULID-age cleanup.
	query := deleteByULIDAgeQuery("policy_data", "policy_data_id", fmt.Sprintf(
		"policy_data_id < (SELECT policy_data_id FROM policy_data ORDER BY policy_data_id DESC OFFSET %d LIMIT 1)", keep-1))
	return ulidAgeCleanup(ctx, r.ext, "prune policy data", query, after, before, limit)
}
