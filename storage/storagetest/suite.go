// Package storagetest is the conformance suite every storage backend must
// pass. A backend's test file only supplies a factory:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return memory.New() })
//	}
//
// Each call of the factory must return an empty store of its own.
package storagetest

import (
	"testing"

	"github.com/masstore/masstore/storage"
)

// Factory returns a new, empty store for one test.
type Factory func(t *testing.T) storage.Store

// Run runs the whole suite against the stores newStore makes.
func Run(t *testing.T, newStore Factory) {
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore) })
	t.Run("UserTerms", func(t *testing.T) { testUserTerms(t, newStore) })
	t.Run("UnsupportedThirdPartyIDs", func(t *testing.T) { testUnsupportedThirdPartyIDs(t, newStore) })
	t.Run("UserSessions", func(t *testing.T) { testUserSessions(t, newStore) })
	t.Run("CompatSessions", func(t *testing.T) { testCompatSessions(t, newStore) })
	t.Run("OAuth2", func(t *testing.T) { testOAuth2(t, newStore) })
	t.Run("UpstreamOAuth", func(t *testing.T) { testUpstreamOAuth(t, newStore) })
	t.Run("BackchannelLogout", func(t *testing.T) { testBackchannelLogout(t, newStore) })
	t.Run("Recovery", func(t *testing.T) { testRecovery(t, newStore) })
	t.Run("Registrations", func(t *testing.T) { testRegistrations(t, newStore) })
	t.Run("PersonalSessions", func(t *testing.T) { testPersonalSessions(t, newStore) })
	t.Run("PolicyData", func(t *testing.T) { testPolicyData(t, newStore) })
	t.Run("Queue", func(t *testing.T) { testQueue(t, newStore) })
	t.Run("Transact", func(t *testing.T) { testTransact(t, newStore) })
	t.Run("Cleanup", func(t *testing.T) { testCleanup(t, newStore) })
	t.Run("CleanupReferences", func(t *testing.T) { testCleanupReferences(t, newStore) })
	t.Run("ExpireInactive", func(t *testing.T) { testExpireInactive(t, newStore) })
	t.Run("BackchannelChainSurvivesCleanup", func(t *testing.T) { testBackchannelChainSurvivesCleanup(t, newStore) })
}
