package storagetest

import "testing"

// Placeholders, replaced by the cleanup suite files (cleanup.go, ...).
func testCleanup(t *testing.T, f Factory)                         {}
func testCleanupReferences(t *testing.T, f Factory)               {}
func testBackchannelChainSurvivesCleanup(t *testing.T, f Factory) {}
