package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/masstore/masstore/cleanup"
)

// inactiveSessionExpiration is MAS's experimental.inactive_session_expiration.
type inactiveSessionExpiration struct {
	TTL           *int64 `yaml:"ttl"` // seconds
	ExpireCompat  *bool  `yaml:"expire_compat_sessions"`
	ExpireOAuth   *bool  `yaml:"expire_oauth_sessions"`
	ExpireBrowser *bool  `yaml:"expire_user_sessions"`
}

// masConfig is the part of a MAS configuration file the janitor reads.
type masConfig struct {
	Experimental struct {
		InactiveSessionExpiration *inactiveSessionExpiration `yaml:"inactive_session_expiration"`
	} `yaml:"experimental"`
}

// readMASConfig returns the expiry settings of a MAS configuration file:
// ok is false when the file has none (MAS then expires nothing).
func readMASConfig(path string) (ttl time.Duration, kinds cleanup.InactiveSessions, ok bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, kinds, false, err
	}
	var c masConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		return 0, kinds, false, fmt.Errorf("%s: %w", path, err)
	}
	e := c.Experimental.InactiveSessionExpiration
	if e == nil {
		return 0, kinds, false, nil
	}
	if e.TTL == nil {
		return 0, kinds, false, fmt.Errorf("%s: experimental.inactive_session_expiration has no ttl", path)
	}
	ttl = time.Duration(*e.TTL) * time.Second
	if ttl < cleanup.MinInactiveSessionTTL || ttl > cleanup.MaxInactiveSessionTTL {
		return 0, kinds, false, fmt.Errorf("%s: experimental.inactive_session_expiration.ttl %d out of range %d..%d seconds", path,
			*e.TTL, int64(cleanup.MinInactiveSessionTTL/time.Second), int64(cleanup.MaxInactiveSessionTTL/time.Second))
	}
	off := func(b *bool) bool { return b != nil && !*b } // MAS's switches default to true
	kinds = cleanup.InactiveSessions{SkipCompat: off(e.ExpireCompat), SkipOAuth2: off(e.ExpireOAuth), SkipBrowser: off(e.ExpireBrowser)}
	return ttl, kinds, true, nil
}

// errExpireOff is what asking for the expiry job without a TTL gets.
var errExpireOff = errors.New("expire-inactive-sessions needs a time-to-live: --inactive-session-ttl D, or --mas-config FILE with experimental.inactive_session_expiration")
