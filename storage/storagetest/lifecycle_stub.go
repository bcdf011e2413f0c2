package storagetest

import "testing"

// Placeholders, replaced by the lifecycle suite files (users.go, ...).
func testTransact(t *testing.T, f Factory) {}
