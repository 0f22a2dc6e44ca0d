package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"

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

// explainRequest is the body of POST /api/v1/explain.
type explainRequest struct {
	Token   string `json:"token"`
	Room    string `json:"room"`
	Name    string `json:"name"`
	Address string `json:"address"`
	Origin  string `json:"origin"`
}

type explainStep struct {
	Rule   string `json:"rule"`
	Result string `json:"result"` // "passed", or "refused" for the rule that decided
}

type explainAnswer struct {
	// Decision is "admit", "lobby" or "refuse".
	Decision string        `json:"decision"`
	Role     string        `json:"role,omitempty"`
	Rules    []explainStep `json:"rules"`
	// DecidedBy is the rule that refused, with the refusal's code and
	// message, as the person would get them.
	DecidedBy *explainRefusal `json:"decidedBy,omitempty"`
}

type explainRefusal struct {
	Rule    string `json:"rule"`
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// serveExplain is POST /api/v1/explain: the decision the door would make
// now on a signalling request from address, with token (or none), for
// room, and each rule it checked. It changes nothing: it takes no place,
// uses no invitation, opens no session, starts no clock.
func (g *Gateway) serveExplain(w http.ResponseWriter, r *http.Request) {
	var b explainRequest
	if rf := readJSON(w, r, &b); rf != nil {
		rf.Write(w)
		return
	}
	addr, err := netip.ParseAddr(b.Address)
	if err != nil {
		refuse(http.StatusBadRequest, "bad_address", "address must be the IP address the request would come from").Write(w)
		return
	}
	if len(b.Token) > accesstoken.MaxTokenLen || len(b.Origin) > 1024 || len(b.Room) > 1024 || len(b.Name) > 1024 {
		refuse(http.StatusRequestEntityTooLarge, "too_large", "a property is too long").Write(w)
		return
	}
	// The request the person would send, as the gateway would see it.
	q := url.Values{"room": {b.Room}}
	if b.Name != "" {
		q.Set("name", b.Name)
	}
	req := httptest.NewRequestWithContext(r.Context(), http.MethodGet, g.cfg.SignalPath+"?"+q.Encode(), nil)
	req.Host = r.Host
	if b.Origin != "" {
		req.Header.Set("Origin", b.Origin)
	}
	if b.Token != "" {
		req.Header.Set("Authorization", "Bearer "+b.Token)
	}

	tr := &trace{}
	ans := explainAnswer{}
	e, rf := g.explain(req, addr, tr)
	for i, rule := range tr.rules {
		step := explainStep{Rule: rule, Result: "passed"}
		if rf != nil && i == len(tr.rules)-1 {
			step.Result = "refused"
			ans.DecidedBy = &explainRefusal{Rule: rule, Status: rf.Status, Code: rf.Code, Message: rf.Message}
		}
		ans.Rules = append(ans.Rules, step)
	}
	switch {
	case rf != nil:
		ans.Decision = "refuse"
	case e.role == accesstoken.PeerLobby:
		ans.Decision, ans.Role = "lobby", string(e.role)
	default:
		ans.Decision, ans.Role = "admit", string(e.role)
	}
	writeJSON(w, http.StatusOK, ans)
}

// explain runs the decision without its side effects.
func (g *Gateway) explain(r *http.Request, addr netip.Addr, tr *trace) (entry, *refusal) {
	room, name, claims, _, rf := g.readSignalRequest(r, tr)
	if rf != nil {
		return entry{}, rf
	}
	ctx, cancel := g.state.sharedCtx(r.Context())
	defer cancel()
	e, apiRoom, rf := g.decide(ctx, addr, room, name, claims, nil, tr)
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
