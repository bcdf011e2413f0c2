package syn2mas

// AuthProvider is an identity provider as Synapse names it in
// `user_external_ids.auth_provider`.
type AuthProvider struct {
	// ID is the provider id Synapse stores, e.g. "oidc" or "oidc-google".
	ID string
	// Issuer is the provider's `issuer` ("" when not configured).
	Issuer string
}

// legacyOIDCID is the id Synapse has always given the legacy `oidc_config`
// provider, and the one id it does not prefix.
const legacyOIDCID = "oidc"

// ProviderID returns the id Synapse stores for an OIDC provider configured
// with the given `idp_id`: "oidc" when idp_id is empty or "oidc", else
// "oidc-" + idp_id (Synapse prefixes the id with the mechanism so that it
// cannot clash with SAML or CAS ids).
func ProviderID(idpID string) string {
	if idpID == "" || idpID == legacyOIDCID {
		return legacyOIDCID
	}
	return legacyOIDCID + "-" + idpID
}

// AuthProviders returns the providers Synapse's configuration defines,
// keyed by the id Synapse stores in `user_external_ids`. The legacy
// `oidc_config` counts only when it has both an issuer and a client_id
// (otherwise it is an empty leftover section); `oidc_providers` entries
// always count, and one that shares an id with the legacy provider wins.
func (c *SynapseConfig) AuthProviders() map[string]AuthProvider {
	providers := map[string]AuthProvider{}
	if l := c.LegacyOIDC; l != nil && l.Issuer != "" && l.ClientID != "" {
		id := ProviderID(l.IDPID)
		providers[id] = AuthProvider{ID: id, Issuer: l.Issuer}
	}
	for _, p := range c.OIDCProviders {
		id := ProviderID(p.IDPID)
		providers[id] = AuthProvider{ID: id, Issuer: p.Issuer}
	}
	return providers
}
