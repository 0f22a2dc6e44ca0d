package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/roomgate/roomgate/accesstoken"
)

// token is a room token for one simulated person, from the master secret,
// from the REST API of site, or none.
func (r *runner) token(ctx context.Context, site, room, name string) (string, error) {
	switch {
	case r.issuer != nil:
		tok, _, err := r.issuer.Mint(accesstoken.Claims{
			Role: accesstoken.RolePeer, Room: room, Name: name,
			RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
		})
		return tok, err
	case r.cfg.APIKey != "":
		body, _ := json.Marshal(map[string]string{"roomName": room, "name": name})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(site, "/")+"/api/v1/token", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := r.http.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		var out struct{ Token string }
		if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&out) != nil || out.Token == "" {
			return "", fmt.Errorf("minting a token through the API: %s", res.Status)
		}
		return out.Token, nil
	}
	return "", nil
}
