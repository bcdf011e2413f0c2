package syn2mas_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas"
)

func TestProviderID(t *testing.T) {
	t.Parallel()

	for idpID, want := range map[string]string{
		"":         "oidc",
		"oidc":     "oidc",
		"google":   "oidc-google",
		"oidc-x":   "oidc-oidc-x", // Synapse prefixes whatever is not exactly "oidc"
		"OIDC":     "oidc-OIDC",
		"key.clk~": "oidc-key.clk~",
	} {
		require.Equal(t, want, syn2mas.ProviderID(idpID), "idp_id %q", idpID)
	}
}

func TestAuthProviders(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		doc  string
		want map[string]syn2mas.AuthProvider
	}{
		{"None", "", map[string]syn2mas.AuthProvider{}},
		{"ProviderWithoutIdpIDIsOIDC",
			"oidc_providers: [{issuer: https://a, client_id: c}]",
			map[string]syn2mas.AuthProvider{"oidc": {ID: "oidc", Issuer: "https://a"}}},
		{"IdpIDOIDCStaysOIDC",
			"oidc_providers: [{idp_id: oidc, issuer: https://a}]",
			map[string]syn2mas.AuthProvider{"oidc": {ID: "oidc", Issuer: "https://a"}}},
		{"IdpIDIsPrefixed",
			"oidc_providers: [{idp_id: google, issuer: https://g}, {idp_id: gitlab}]",
			map[string]syn2mas.AuthProvider{
				"oidc-google": {ID: "oidc-google", Issuer: "https://g"},
				"oidc-gitlab": {ID: "oidc-gitlab"},
			}},
		{"LegacyIsOIDC",
			"oidc_config: {enabled: true, issuer: https://l, client_id: c}",
			map[string]syn2mas.AuthProvider{"oidc": {ID: "oidc", Issuer: "https://l"}}},
		{"LegacyWithIdpIDIsPrefixedAsSynapseDoes",
			"oidc_config: {issuer: https://l, client_id: c, idp_id: legacy}",
			map[string]syn2mas.AuthProvider{"oidc-legacy": {ID: "oidc-legacy", Issuer: "https://l"}}},
		{"LegacyWithoutIssuerIsNoProvider",
			"oidc_config: {enabled: true, client_id: c}",
			map[string]syn2mas.AuthProvider{}},
		{"LegacyWithoutClientIDIsNoProvider",
			"oidc_config: {enabled: true, issuer: https://l}",
			map[string]syn2mas.AuthProvider{}},
		{"LegacyEmptyIsNoProvider",
			"oidc_config: {}",
			map[string]syn2mas.AuthProvider{}},
		{"LegacyAndProvidersTogether",
			"oidc_config: {issuer: https://l, client_id: c}\noidc_providers: [{idp_id: x, issuer: https://x}]",
			map[string]syn2mas.AuthProvider{
				"oidc":   {ID: "oidc", Issuer: "https://l"},
				"oidc-x": {ID: "oidc-x", Issuer: "https://x"},
			}},
		{"ProviderEntryWinsOverLegacyWithTheSameID",
			"oidc_config: {issuer: https://l, client_id: c}\noidc_providers: [{issuer: https://new}]",
			map[string]syn2mas.AuthProvider{"oidc": {ID: "oidc", Issuer: "https://new"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustLoadSynapse(t, "server_name: e\n"+tt.doc+"\n")
			require.Equal(t, tt.want, cfg.AuthProviders())
		})
	}
}
