package restapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"

	"github.com/roomgate/roomgate/accesstoken"
	"github.com/roomgate/roomgate/gateway/httperror"
)

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
func (a *API) serveExplain(w http.ResponseWriter, r *http.Request) {
	var b explainRequest
	if rf := readJSON(w, r, &b); rf != nil {
		rf.Write(w)
		return
	}
	addr, err := netip.ParseAddr(b.Address)
	if err != nil {
		httperror.Refuse(http.StatusBadRequest, "bad_address", "address must be the IP address the request would come from").Write(w)
		return
	}
	if len(b.Token) > accesstoken.MaxTokenLen || len(b.Origin) > 1024 || len(b.Room) > 1024 || len(b.Name) > 1024 {
		httperror.Refuse(http.StatusRequestEntityTooLarge, "too_large", "a property is too long").Write(w)
		return
	}
	// The request the person would send, as the gateway would see it.
	q := url.Values{"room": {b.Room}}
	if b.Name != "" {
		q.Set("name", b.Name)
	}
	req := httptest.NewRequestWithContext(r.Context(), http.MethodGet, a.g.Config().SignalPath+"?"+q.Encode(), nil)
	req.Host = r.Host
	if b.Origin != "" {
		req.Header.Set("Origin", b.Origin)
	}
	if b.Token != "" {
		req.Header.Set("Authorization", "Bearer "+b.Token)
	}

	x := a.g.Explain(req, addr)
	rf := x.Refusal
	ans := explainAnswer{}
	for i, rule := range x.Rules {
		step := explainStep{Rule: rule, Result: "passed"}
		if rf != nil && i == len(x.Rules)-1 {
			step.Result = "refused"
			ans.DecidedBy = &explainRefusal{Rule: rule, Status: rf.Status, Code: rf.Code, Message: rf.Message}
		}
		ans.Rules = append(ans.Rules, step)
	}
	switch {
	case rf != nil:
		ans.Decision = "refuse"
	case x.Role == accesstoken.PeerLobby:
		ans.Decision, ans.Role = "lobby", string(x.Role)
	default:
		ans.Decision, ans.Role = "admit", string(x.Role)
	}
	httperror.JSON(w, http.StatusOK, ans)
}
