package main

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// live plays one simulated day.
func (s *simulation) live(ctx context.Context, day int) error {
	r := s.store
	loggedOut := 0
	for _, p := range s.people {
		if p.browser.FinishedAt != nil {
			continue
		}
		switch {
		case p.logout == day:
			if err := s.logout(ctx, p); err != nil {
				return err
			}
			loggedOut++
		case p.quiet == 0 || day < p.quiet:
			if err := s.recordActivity(ctx, p); err != nil {
				return err
			}
			if p.oauth != nil {
				if err := s.rotate(ctx, p); err != nil {
					return err
				}
			}
		}
	}
	switch {
	case loggedOut == 1:
		s.say(day, "1 person logged out everywhere (the sessions are finished, not deleted)")
	case loggedOut > 1:
		s.say(day, "%d people logged out everywhere (the sessions are finished, not deleted)", loggedOut)
	}
	if day == 1 {
		browser, err := r.UserSessions().Finish(ctx, s.clock, s.bob.browser)
		if err != nil {
			return err
		}
		s.bob.browser = browser
		s.say(day, "bob logs out of the web; his phone stays signed in through that browser session")
	}
	if day < 20 {
		if err := r.CompatSessions().RecordActivity(ctx, s.clock, s.bob.phone.ID, s.bob.phone.LastActiveIP); err != nil {
			return err
		}
	}
	if day == 3 {
		if err := s.deactivate(ctx, s.people[1]); err != nil {
			return err
		}
	}
	if day == 4 {
		if err := s.register(ctx, day); err != nil {
			return err
		}
	}
	if day == 20 {
		return s.backchannelLogout(ctx, day)
	}
	return nil
}

func (s *simulation) logout(ctx context.Context, p *person) error {
	r := s.store
	var err error
	if p.compat != nil {
		if p.compat, err = r.CompatSessions().Finish(ctx, s.clock, p.compat); err != nil {
			return err
		}
	}
	if p.oauth != nil {
		if _, err = r.OAuth2Tokens().RevokeAccessToken(ctx, s.clock, p.access); err != nil {
			return err
		}
		if _, err = r.OAuth2Tokens().RevokeRefreshToken(ctx, s.clock, p.refresh); err != nil {
			return err
		}
		if p.oauth, err = r.OAuth2Sessions().Finish(ctx, s.clock, p.oauth); err != nil {
			return err
		}
	}
	p.browser, err = r.UserSessions().Finish(ctx, s.clock, p.browser)
	return err
}

func (s *simulation) deactivate(ctx context.Context, p *person) error {
	var err error
	if p.user, err = s.store.Users().Deactivate(ctx, s.clock, p.user); err != nil {
		return err
	}
	if p.browser, err = s.store.UserSessions().Lookup(ctx, p.browser.ID); err != nil {
		return err
	}
	s.say(3, "%s is deactivated: all her sessions are finished with her", p.name)
	return nil
}

func (s *simulation) recordActivity(ctx context.Context, p *person) error {
	r := s.store
	if err := r.UserSessions().RecordActivity(ctx, s.clock, p.browser.ID, p.ip); err != nil {
		return err
	}
	if p.compat != nil && p.compat.FinishedAt == nil {
		if err := r.CompatSessions().RecordActivity(ctx, s.clock, p.compat.ID, p.ip); err != nil {
			return err
		}
	}
	if p.oauth != nil && p.oauth.FinishedAt == nil {
		if err := r.OAuth2Sessions().RecordActivity(ctx, s.clock, p.oauth.ID, p.ip); err != nil {
			return err
		}
	}
	return nil
}

// rotate gives p's OAuth 2.0 session a new access token and refresh token,
// consuming the old refresh token as a client does every day.
func (s *simulation) rotate(ctx context.Context, p *person) error {
	t := s.store.OAuth2Tokens()
	access, err := t.AddAccessToken(ctx, s.clock, p.oauth, s.token("at"), 5*time.Minute)
	if err != nil {
		return err
	}
	refresh, err := t.AddRefreshToken(ctx, s.clock, p.oauth, access, s.token("rt"))
	if err != nil {
		return err
	}
	if p.refresh != nil {
		if _, err := t.ConsumeRefreshToken(ctx, s.clock, p.refresh, refresh); err != nil {
			return err
		}
	}
	p.access, p.refresh = access, refresh
	return nil
}

// backchannelLogout is the upstream provider telling the server bob logged
// out there: the walk from the upstream login reaches his phone through the
// browser session finished 19 days ago.
func (s *simulation) backchannelLogout(ctx context.Context, day int) error {
	report, err := s.store.UpstreamOAuth().BackchannelLogout(ctx, s.clock, s.provider, sub+"-"+s.tag, "")
	if err != nil {
		return err
	}
	reached := false
	for _, id := range report.FinishedCompatSessions {
		reached = reached || id == s.bob.phone.ID
	}
	if !reached {
		return fmt.Errorf("back-channel logout did not reach bob's phone: %+v", report)
	}
	s.say(day, "Example IdP sends a back-channel logout for bob: upstream login → browser session (finished on day 1, kept) → his phone's compat session, now finished")
	return nil
}

// register walks a newcomer through sign-up: a registration with an email
// authentication, completed with the mailed code.
func (s *simulation) register(ctx context.Context, day int) error {
	r := s.store.Registrations()
	reg, err := r.Add(ctx, s.clock, "peggy-"+s.tag, netip.MustParseAddr("203.0.113.20"), "Firefox")
	if err != nil {
		return err
	}
	auth, err := r.AddEmailAuthentication(ctx, s.clock, "peggy@example.org", nil, reg)
	if err != nil {
		return err
	}
	if _, err := r.AddEmailAuthenticationCode(ctx, s.clock, auth, "123456", time.Hour); err != nil {
		return err
	}
	if _, err := r.CompleteEmailAuthentication(ctx, s.clock, auth, "123456"); err != nil {
		return err
	}
	if reg, err = r.SetEmailAuthentication(ctx, reg, auth); err != nil {
		return err
	}
	if _, err := r.Complete(ctx, s.clock, reg); err != nil {
		return err
	}
	s.say(day, "peggy signs up: a registration and an email authentication, kept for 30 and 7 days")
	return nil
}
