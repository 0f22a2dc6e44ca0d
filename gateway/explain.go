package gateway

import (
	"net/http"
	"net/netip"

	"github.com/roomgate/roomgate/accesstoken"
)

// trace records the rules the door checks, in order, for POST
// /api/v1/explain; the rule checked last before a refusal is the one that
// decided. The real decision runs the same code with a nil trace.
type trace struct {
	rules []string
}

// at records that rule is being checked.
func (t *trace) at(rule string) {
	if t != nil {
		t.rules = append(t.rules, rule)
	}
}

// explain runs the decision without its side effects.
func (g *Gateway) explain(r *http.Request, addr netip.Addr, tr *trace) (entry, *refusal) {
	room, name, claims, _, rf := g.readSignalRequest(r, tr)
	if rf != nil {
		return entry{}, rf
	}
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	e, apiRoom, rf := g.decide(ctx, addr, room, name, claims, nil, g.cameEarly(r, room), tr)
	if rf != nil {
		return e, rf
	}
	if rf := g.roomRules(apiRoom, claims, &e, tr); rf != nil {
		return e, rf
	}
	if e.role == accesstoken.PeerLobby {
		tr.at("knock_rate")
		if rf := g.knock(ctx, addr, room, false); rf != nil {
			return e, rf
		}
	}
	tr.at("capacity")
	full, err := g.state.shared.Full(ctx, g.state.holder, g.places(addr, room, apiRoom, e))
	if err != nil {
		return e, sharedRefusal(err)
	}
	if full != "" {
		return e, fullRefusal(full)
	}
	if claims != nil && claims.MaxUses > 0 {
		tr.at("invitation_uses")
		used, err := g.state.shared.TokenUses(ctx, claims.ID)
		if err != nil {
			return e, sharedRefusal(err)
		}
		if used >= claims.MaxUses {
			return e, refuse(http.StatusForbidden, "invitation_used", "this invitation has been used as often as it may be")
		}
	}
	return e, nil
}
