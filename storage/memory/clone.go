package memory

import (
	"encoding/json"
	"slices"

	"github.com/masstore/masstore/storage"
)

// The clone functions deep-copy a row on its way out of the store, so that a
// caller changing what it got (a time behind a pointer, a slice) never
// changes the state.

func ptr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneUser(v storage.User) *storage.User {
	v.LockedAt, v.DeactivatedAt = ptr(v.LockedAt), ptr(v.DeactivatedAt)
	return &v
}

func cloneUserSession(v storage.UserSession) *storage.UserSession {
	v.FinishedAt, v.LastActiveAt = ptr(v.FinishedAt), ptr(v.LastActiveAt)
	return &v
}

func cloneCompatSession(v storage.CompatSession) *storage.CompatSession {
	v.FinishedAt, v.LastActiveAt = ptr(v.FinishedAt), ptr(v.LastActiveAt)
	return &v
}

func cloneCompatAccessToken(v storage.CompatAccessToken) *storage.CompatAccessToken {
	v.ExpiresAt = ptr(v.ExpiresAt)
	return &v
}

func cloneCompatRefreshToken(v storage.CompatRefreshToken) *storage.CompatRefreshToken {
	v.ConsumedAt = ptr(v.ConsumedAt)
	return &v
}

func cloneSSOLogin(v storage.CompatSSOLogin) *storage.CompatSSOLogin {
	v.FulfilledAt, v.ExchangedAt = ptr(v.FulfilledAt), ptr(v.ExchangedAt)
	return &v
}

func cloneOAuth2Client(v storage.OAuth2Client) *storage.OAuth2Client {
	v.RedirectURIs = textArray(v.RedirectURIs)
	return &v
}

func cloneOAuth2Session(v storage.OAuth2Session) *storage.OAuth2Session {
	v.Scope = textArray(v.Scope)
	v.FinishedAt, v.LastActiveAt = ptr(v.FinishedAt), ptr(v.LastActiveAt)
	return &v
}

func cloneAccessToken(v storage.OAuth2AccessToken) *storage.OAuth2AccessToken {
	v.ExpiresAt, v.RevokedAt = ptr(v.ExpiresAt), ptr(v.RevokedAt)
	return &v
}

func cloneRefreshToken(v storage.OAuth2RefreshToken) *storage.OAuth2RefreshToken {
	v.ConsumedAt, v.RevokedAt = ptr(v.ConsumedAt), ptr(v.RevokedAt)
	return &v
}

func cloneAuthGrant(v storage.OAuth2AuthorizationGrant) *storage.OAuth2AuthorizationGrant {
	v.FulfilledAt, v.ExchangedAt = ptr(v.FulfilledAt), ptr(v.ExchangedAt)
	return &v
}

func cloneDeviceGrant(v storage.OAuth2DeviceCodeGrant) *storage.OAuth2DeviceCodeGrant {
	v.FulfilledAt, v.RejectedAt, v.ExchangedAt = ptr(v.FulfilledAt), ptr(v.RejectedAt), ptr(v.ExchangedAt)
	return &v
}

func cloneUpstreamSession(v storage.UpstreamOAuthSession) *storage.UpstreamOAuthSession {
	v.Claims = ptr(v.Claims)
	v.CompletedAt, v.ConsumedAt = ptr(v.CompletedAt), ptr(v.ConsumedAt)
	return &v
}

func cloneRecoverySession(v storage.RecoverySession) *storage.RecoverySession {
	v.ConsumedAt = ptr(v.ConsumedAt)
	return &v
}

func cloneRegistration(v storage.Registration) *storage.Registration {
	v.CompletedAt = ptr(v.CompletedAt)
	return &v
}

func cloneEmailAuth(v storage.EmailAuthentication) *storage.EmailAuthentication {
	v.CompletedAt = ptr(v.CompletedAt)
	return &v
}

func cloneWorker(v storage.Worker) *storage.Worker {
	v.ShutdownAt = ptr(v.ShutdownAt)
	return &v
}

func cloneJob(v storage.Job) *storage.Job {
	v.Payload = json.RawMessage(slices.Clone([]byte(v.Payload)))
	v.ScheduledAt, v.StartedAt = ptr(v.ScheduledAt), ptr(v.StartedAt)
	v.CompletedAt, v.FailedAt = ptr(v.CompletedAt), ptr(v.FailedAt)
	return &v
}

func cloneSchedule(v storage.Schedule) *storage.Schedule {
	v.LastScheduledAt = ptr(v.LastScheduledAt)
	return &v
}

func clonePersonalSession(v storage.PersonalSession) *storage.PersonalSession {
	v.Scope = textArray(v.Scope)
	v.RevokedAt, v.LastActiveAt = ptr(v.RevokedAt), ptr(v.LastActiveAt)
	return &v
}

func clonePersonalToken(v storage.PersonalAccessToken) *storage.PersonalAccessToken {
	v.ExpiresAt, v.RevokedAt = ptr(v.ExpiresAt), ptr(v.RevokedAt)
	return &v
}

func clonePolicyData(v storage.PolicyData) *storage.PolicyData {
	v.Data = json.RawMessage(slices.Clone([]byte(v.Data)))
	return &v
}

// plain returns a copy of a row without pointers inside.
func plain[T any](v T) *T { return &v }
