package storagetest

import "testing"

// Placeholders, replaced by references.go and backchannel_chain.go.
func testCleanupReferences(t *testing.T, f Factory)               {}
func testBackchannelChainSurvivesCleanup(t *testing.T, f Factory) {}
