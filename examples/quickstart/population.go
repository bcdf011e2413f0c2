package main

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/masstore/masstore/storage"
)

var names = []string{"alice", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia"}

// populate builds day 0: the people, bob's upstream login, the grants,
// flows and queue jobs a busy server has lying around.
func (s *simulation) populate(ctx context.Context) error {
	r := s.store
	var err error
	s.provider, err = r.UpstreamOAuth().AddProvider(ctx, s.clock, storage.UpstreamOAuthProvider{
		Issuer: "https://idp.example", HumanName: "Example IdP", ClientID: "masstore-quickstart",
		Scope: "openid", OnBackchannelLogout: storage.LogoutAll,
	})
	if err != nil {
		return err
	}
	if s.client, err = r.OAuth2Clients().Add(ctx, s.clock, "Element", []string{"https://app.element.example/"}); err != nil {
		return err
	}
	counts := map[string]int{}
	for i, name := range names {
		p := &person{name: name, ip: netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})}
		switch {
		case i%3 == 1:
			p.logout = 1 + i%4 // logs out in the first days
		case i%3 == 2:
			p.quiet = 10 // stops using the server, stays signed in
		}
		if err := s.addPerson(ctx, p, counts); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.people = append(s.people, p)
	}
	if err := s.addBob(ctx); err != nil {
		return fmt.Errorf("bob: %w", err)
	}
	if err := s.addLeftovers(ctx, counts); err != nil {
		return err
	}
	s.say(0, "%d users, %d browser sessions, %d compat sessions, %d OAuth 2.0 sessions with tokens, %d authorization grants",
		len(names)+1, len(names)+1, counts["compat"]+1, counts["oauth"], counts["grants"])
	s.say(0, "bob logged in through Example IdP (sub %q); his phone got a compat session from that browser session", sub)
	s.say(0, "also: an upstream login never finished, %d recovery sessions, %d queue jobs, 2 workers", counts["recovery"], counts["jobs"])
	return nil
}

func (s *simulation) addPerson(ctx context.Context, p *person, counts map[string]int) error {
	r := s.store
	var err error
	if p.user, err = r.Users().Add(ctx, s.clock, p.name+"-"+s.tag); err != nil {
		return err
	}
	if p.browser, err = r.UserSessions().Add(ctx, s.clock, p.user, "Firefox"); err != nil {
		return err
	}
	if err := r.UserSessions().RecordActivity(ctx, s.clock, p.browser.ID, p.ip); err != nil {
		return err
	}
	i := len(s.people)
	if i%2 == 0 {
		if p.compat, err = r.CompatSessions().Add(ctx, s.clock, p.user, fmt.Sprintf("DEVICE%02d", i), p.browser, false); err != nil {
			return err
		}
		at, err := r.CompatSessions().AddAccessToken(ctx, s.clock, p.compat, s.token("cat"), time.Hour)
		if err != nil {
			return err
		}
		if _, err := r.CompatSessions().AddRefreshToken(ctx, s.clock, p.compat, at, s.token("crt")); err != nil {
			return err
		}
		counts["compat"]++
	}
	if i%2 == 1 || i%3 == 0 {
		grant, err := r.OAuth2Grants().AddAuthorizationGrant(ctx, s.clock, s.client, "https://app.element.example/", "openid", s.token("code"))
		if err != nil {
			return err
		}
		counts["grants"]++
		if p.oauth, err = r.OAuth2Sessions().Add(ctx, s.clock, s.client, p.user, p.browser, []string{"openid"}); err != nil {
			return err
		}
		if _, err := r.OAuth2Grants().FulfillAuthorizationGrant(ctx, s.clock, grant, p.oauth, p.browser); err != nil {
			return err
		}
		if _, err := r.OAuth2Grants().ExchangeAuthorizationGrant(ctx, s.clock, grant); err != nil {
			return err
		}
		if err := s.rotate(ctx, p); err != nil {
			return err
		}
		counts["oauth"]++
	}
	return s.recordActivity(ctx, p)
}

// addBob logs bob in through the upstream provider and signs in his phone
// from that browser session.
func (s *simulation) addBob(ctx context.Context) error {
	r := s.store
	user, err := r.Users().Add(ctx, s.clock, "bob-"+s.tag)
	if err != nil {
		return err
	}
	up, err := r.UpstreamOAuth().AddSession(ctx, s.clock, s.provider, s.token("state"), s.token("nonce"))
	if err != nil {
		return err
	}
	link, err := r.UpstreamOAuth().AddLink(ctx, s.clock, s.provider, sub+"-"+s.tag, user)
	if err != nil {
		return err
	}
	if up, err = r.UpstreamOAuth().CompleteSession(ctx, s.clock, up, link, storage.IDTokenClaims{Sub: sub + "-" + s.tag, Sid: "sid-1"}); err != nil {
		return err
	}
	browser, err := r.UserSessions().Add(ctx, s.clock, user, "Safari")
	if err != nil {
		return err
	}
	if _, err := r.UserSessions().AuthenticateWithUpstream(ctx, s.clock, browser, up); err != nil {
		return err
	}
	if up, err = r.UpstreamOAuth().ConsumeSession(ctx, s.clock, up); err != nil {
		return err
	}
	phone, err := r.CompatSessions().Add(ctx, s.clock, user, "BOBPHONE", browser, false)
	if err != nil {
		return err
	}
	if _, err := r.CompatSessions().AddAccessToken(ctx, s.clock, phone, s.token("cat"), 0); err != nil {
		return err
	}
	s.bob.browser, s.bob.phone, s.bob.upstream = browser, phone, up
	return nil
}

// addLeftovers makes what piles up on any server: an upstream login never
// finished, recovery requests, a device-code grant, queue jobs and workers.
func (s *simulation) addLeftovers(ctx context.Context, counts map[string]int) error {
	r := s.store
	if _, err := r.UpstreamOAuth().AddSession(ctx, s.clock, s.provider, s.token("state"), s.token("nonce")); err != nil {
		return err
	}
	if _, err := r.UpstreamOAuth().AddLink(ctx, s.clock, s.provider, s.token("stranger"), nil); err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		ip := netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
		if _, err := r.Recovery().AddSession(ctx, s.clock, fmt.Sprintf("user%d@example.org", i), "curl", ip, "en"); err != nil {
			return err
		}
		counts["recovery"]++
	}
	if _, err := r.OAuth2Grants().AddDeviceCodeGrant(ctx, s.clock, s.client, "openid", s.token("device"), s.token("user"), 10*time.Minute, netip.MustParseAddr("203.0.113.9"), "tv"); err != nil {
		return err
	}
	worker, err := r.Queue().RegisterWorker(ctx, s.clock)
	if err != nil {
		return err
	}
	for i := 0; i < 10; i++ {
		if _, err := r.Queue().Enqueue(ctx, s.clock, "email", []byte(fmt.Sprintf(`{"n": %d}`, i))); err != nil {
			return err
		}
		counts["jobs"]++
	}
	jobs, err := r.Queue().Reserve(ctx, s.clock, worker, []string{"email"}, 8)
	if err != nil {
		return err
	}
	for i, j := range jobs {
		if i < 6 {
			_, err = r.Queue().CompleteJob(ctx, s.clock, j)
		} else {
			_, err = r.Queue().FailJob(ctx, s.clock, j, "smtp: connection refused")
		}
		if err != nil {
			return err
		}
	}
	if _, err := r.Queue().RetryJob(ctx, s.clock, jobs[7], time.Hour); err != nil {
		return err
	}
	// A second worker dies holding two jobs: they are lost.
	doomed, err := r.Queue().RegisterWorker(ctx, s.clock)
	if err != nil {
		return err
	}
	if _, err := r.Queue().Reserve(ctx, s.clock, doomed, []string{"email"}, 2); err != nil {
		return err
	}
	_, err = r.Queue().ShutdownWorker(ctx, s.clock, doomed)
	return err
}

var tokens int

// token returns a fresh token value.
func (s *simulation) token(kind string) string {
	tokens++
	return fmt.Sprintf("%s_%s_%06d", kind, s.tag, tokens)
}
