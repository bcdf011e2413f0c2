package schema_test

import (
	"testing"

	"github.com/masstore/masstore/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
