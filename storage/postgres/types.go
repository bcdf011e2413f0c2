package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
)

// key returns id as a uuid argument, the zero ULID included: primary keys
// and cursors, which must compare as values, never as NULL.
func key(id ulid.ULID) string { return ulidx.UUID(id) }

// ref returns an optional reference as a uuid argument: the zero ULID is NULL.
func ref(id ulid.ULID) any {
	if id == (ulid.ULID{}) {
		return nil
	}
	return ulidx.UUID(id)
}

// ipArg returns ip as an inet argument: an invalid address is NULL.
// PostgreSQL's inet has no zone, so a zone is dropped.
func ipArg(ip netip.Addr) any {
	if !ip.IsValid() {
		return nil
	}
	return ip.WithZone("").String()
}

// timeArg returns a nullable time argument.
func timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

// idCol scans a uuid column, NULL being the zero ULID.
type idCol struct{ p *ulid.ULID }

func (c idCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*c.p = ulid.ULID{}
		return nil
	case []byte:
		s = string(v)
	case string:
		s = v
	default:
		return fmt.Errorf("scan uuid: unexpected %T", src)
	}
	id, err := ulidx.ParseUUID(s)
	if err != nil {
		return err
	}
	*c.p = id
	return nil
}

// ipCol scans an inet column, NULL being the invalid address. A network
// (with a prefix length) scans as its address.
type ipCol struct{ p *netip.Addr }

func (c ipCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*c.p = netip.Addr{}
		return nil
	case []byte:
		s = string(v)
	case string:
		s = v
	default:
		return fmt.Errorf("scan inet: unexpected %T", src)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("scan inet: %w", err)
		}
		*c.p = p.Addr()
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return fmt.Errorf("scan inet: %w", err)
	}
	*c.p = a
	return nil
}

// timeCol scans a NOT NULL timestamptz column, in UTC.
type timeCol struct{ p *time.Time }

func (c timeCol) Scan(src any) error {
	t, ok := src.(time.Time)
	if !ok {
		return fmt.Errorf("scan timestamp: unexpected %T", src)
	}
	*c.p = storage.Timestamp(t)
	return nil
}

// nullTimeCol scans a nullable timestamptz column, in UTC.
type nullTimeCol struct{ p **time.Time }

func (c nullTimeCol) Scan(src any) error {
	if src == nil {
		*c.p = nil
		return nil
	}
	t, ok := src.(time.Time)
	if !ok {
		return fmt.Errorf("scan timestamp: unexpected %T", src)
	}
	t = storage.Timestamp(t)
	*c.p = &t
	return nil
}

// jsonCol scans a jsonb column into v; NULL leaves v untouched.
type jsonCol struct{ v any }

func (c jsonCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("scan jsonb: unexpected %T", src)
	}
	return json.Unmarshal(b, c.v)
}

// rawJSONCol scans a jsonb column as compact JSON (PostgreSQL prints jsonb
// with spaces), so that what was stored compact reads back byte for byte.
type rawJSONCol struct{ p *json.RawMessage }

func (c rawJSONCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*c.p = nil
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("scan jsonb: unexpected %T", src)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return fmt.Errorf("scan jsonb: %w", err)
	}
	*c.p = json.RawMessage(buf.Bytes())
	return nil
}

// textCol scans a nullable text column, NULL being "".
type textCol struct{ p *string }

func (c textCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.p = ""
	case []byte:
		*c.p = string(v)
	case string:
		*c.p = v
	default:
		return fmt.Errorf("scan text: unexpected %T", src)
	}
	return nil
}

// textArg returns an optional text argument: "" is NULL.
func textArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}
