package accesstoken

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AdmissionHeader carries the gateway's admission to the media server. The
// gateway deletes whatever a client sent under this name.
const AdmissionHeader = "Roomgate-Admission"

// AdmissionTTL is how long an admission may be presented. It is used once, at
// the WebSocket upgrade that the gateway forwards right after minting it.
const AdmissionTTL = 30 * time.Second

// PeerRole is what an admitted peer may do in its room.
type PeerRole string

const (
	PeerHost  PeerRole = "host"  // logged-in host: admin, and keeps the room open
	PeerAdmin PeerRole = "admin" // token with isAdmin
	PeerGuest PeerRole = "guest" // may publish and watch
	PeerLobby PeerRole = "lobby" // waits for an admin; sees and sends nothing
)

func (r PeerRole) valid() bool {
	switch r {
	case PeerHost, PeerAdmin, PeerGuest, PeerLobby:
		return true
	}
	return false
}

// Admission is the gateway's word to the media server that one connection may
// enter one room in one role. Subject is the peer id.
type Admission struct {
	jwt.RegisteredClaims
	Room           string   `json:"room"`
	Role           PeerRole `json:"role"`
	Name           string   `json:"name,omitempty"`
	Email          string   `json:"email,omitempty"`
	ExternalUserID string   `json:"xuid,omitempty"`
	// TokenID is the jti of the credential the peer came with, for revocation.
	TokenID string `json:"tid,omitempty"`
	// EjectAtMillis is when the peer must be removed (Unix milliseconds, so a
	// short deadline is kept to the moment); 0: never.
	EjectAtMillis int64 `json:"eject_at_ms,omitempty"`
	// ICEServers are the TURN servers the peer may use, each with a
	// credential minted for this peer; the media server hands them on.
	ICEServers []ICEServer `json:"ice,omitempty"`
	// Node is the media node the room is pinned to, in a cluster; a node
	// takes only admissions made for it.
	Node string `json:"node,omitempty"`
	// Epoch is the pin's epoch: a node refuses an admission made for an
	// older placement of the room than the one it serves.
	Epoch int64 `json:"epoch,omitempty"`
	// Identity is who the peer verifiably is, for bans: "xuid:<id>" (a
	// token's externalUserId), "user:<name>" (a host), "idp:<sub>" (a
	// participant who logged in through the identity provider), or
	// "addr:<address>" (none of these).
	Identity string `json:"ident,omitempty"`
	// Rejoin is the id of a valid rejoin pass for the room the peer came
	// back with: a lock does not keep out someone who was already in.
	Rejoin string `json:"rejoin,omitempty"`
	// MayOwn says the peer may be the room's owner (docs/gateway.md,
	// "Owners of open rooms"): a guest without credentials, on a site with
	// neither host_protected nor user_auth, in a room not made through the
	// API. The media server makes owners only of such peers.
	MayOwn bool `json:"may_own,omitempty"`
	// OwnerPassMillis is when the valid owner pass for this room the peer
	// brought was issued (Unix milliseconds; 0: none): the peer takes the
	// room from an owner who became owner after it.
	OwnerPassMillis int64 `json:"owner_pass_ms,omitempty"`
}

// ICEServer is one entry of RTCConfiguration.iceServers.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Limits on what an admission carries.
const (
	MaxICEServers = 8
	maxICEURLs    = 8
	maxICEURLLen  = 256
)

// EjectAt is when the peer must be removed; the zero time means never.
func (a *Admission) EjectAt() time.Time {
	if a.EjectAtMillis == 0 {
		return time.Time{}
	}
	return time.UnixMilli(a.EjectAtMillis)
}

// Validate checks the rules beyond signature and time.
func (a *Admission) Validate() error {
	if a.ID == "" || a.Subject == "" {
		return claimError("admission needs a jti and a peer id")
	}
	if !ValidRoom(a.Room) {
		return claimError("admission names no valid room")
	}
	if !a.Role.valid() {
		return claimError("admission has an unknown role")
	}
	if !ValidDisplayName(a.Name) {
		return claimError("name is too long or has control characters")
	}
	if a.OwnerPassMillis != 0 && (!a.MayOwn || a.Role != PeerGuest) {
		return claimError("only a guest who may own the room brings an owner pass")
	}
	if a.MayOwn && a.Role != PeerGuest {
		return claimError("only a guest may own a room")
	}
	if len(a.ICEServers) > MaxICEServers {
		return claimError("admission carries too many ICE servers")
	}
	for _, s := range a.ICEServers {
		if len(s.URLs) == 0 || len(s.URLs) > maxICEURLs || len(s.Username) > maxICEURLLen || len(s.Credential) > maxICEURLLen {
			return claimError("admission carries a malformed ICE server")
		}
		for _, u := range s.URLs {
			if len(u) > maxICEURLLen || hasControl(u) {
				return claimError("admission carries a malformed ICE server URL")
			}
		}
	}
	return nil
}

const admissionAudience = "roomgate:admission"

// Admissions mints and verifies admissions, rejoin passes, owner passes
// and early arrivals' passes, with the admission key (each kind under its
// own audience, so one never passes for another).
type Admissions struct{ c, rejoin, owner, early codec }

// NewAdmissions returns an Admissions keyed from s. now is the clock; nil means time.Now.
func NewAdmissions(s Secret, now func() time.Time) *Admissions {
	if now == nil {
		now = time.Now
	}
	key := s.Key(PurposeAdmission)
	return &Admissions{newCodec(key, admissionAudience, now), newCodec(key, rejoinAudience, now), newCodec(key, ownerAudience, now), newCodec(key, earlyAudience, now)}
}

// Mint signs a, filling in jti, iat, exp and the audience.
func (m *Admissions) Mint(a Admission) (string, error) {
	now := m.c.now()
	a.ID = NewID()
	a.IssuedAt = jwt.NewNumericDate(now)
	a.ExpiresAt = jwt.NewNumericDate(now.Add(AdmissionTTL))
	a.Audience = jwt.ClaimStrings{admissionAudience}
	if err := a.Validate(); err != nil {
		return "", err
	}
	return m.c.sign(&a)
}

// Verify checks an admission and returns it.
func (m *Admissions) Verify(token string) (*Admission, error) {
	var a Admission
	if err := m.c.parse(token, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// How a browser carries its token to the gateway: the WebSocket subprotocol
// list holds Subprotocol and SubprotocolTokenPrefix+token, never the URL.
const (
	Subprotocol            = "roomgate"
	SubprotocolTokenPrefix = "roomgate.token."
)
