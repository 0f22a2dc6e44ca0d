package oidc

import (
	"net/http"
	"time"

	"github.com/roomgate/roomgate/gateway/httperror"
)

// The refusals of a login through the provider, as the login page shows
// them; their codes are the audit log's rules.
var (
	errUnreachable = &httperror.Refusal{Status: http.StatusServiceUnavailable, Code: "idp_unreachable",
		Message: "The identity provider is unreachable; try again in a moment.", RetryAfter: 5 * time.Second}
	errExpired = httperror.Refuse(http.StatusBadRequest, "login_expired",
		"This login took too long or was started in another browser; log in again.")
	errStateMismatch = httperror.Refuse(http.StatusBadRequest, "state_mismatch",
		"This answer from the identity provider is not for the login this browser started; log in again.")
	errUsed = httperror.Refuse(http.StatusBadRequest, "login_used",
		"This login was already used; log in again.")
	errProviderRefused = httperror.Refuse(http.StatusUnauthorized, "idp_refused",
		"The identity provider did not log you in; log in again.")
	errBadIDToken = httperror.Refuse(http.StatusUnauthorized, "id_token_invalid",
		"The identity provider's answer could not be verified; log in again.")
	errNoName = httperror.Refuse(http.StatusForbidden, "no_username",
		"The identity provider gave no name (or no verified email) for you.")
)

// notAllowed names the provider: the person knows it by that name.
func notAllowed(label string) *httperror.Refusal {
	return httperror.Refuse(http.StatusForbidden, "not_allowed",
		"Your account at "+label+" may not host meetings here: it is in none of the allowed groups or email domains.")
}

// notAllowedToJoin is notAllowed for a login from a room's page.
func notAllowedToJoin(label string) *httperror.Refusal {
	return httperror.Refuse(http.StatusForbidden, "not_allowed",
		"Your account at "+label+" may not join meetings here: it is in none of the allowed groups or email domains.")
}
