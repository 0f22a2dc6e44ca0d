package e2e

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/stun/v3"
)

// rawTURN is a TURN client over UDP that does what pion's client will not:
// ask for an allocation lifetime and refresh when the test says, so that a
// test can watch a refresh after the credential expired. It speaks the
// protocol from RFC 8656 with pion/stun's messages.
type rawTURN struct {
	conn               *net.UDPConn
	server             *net.UDPAddr
	username, password string
	realm, nonce       stun.Setter
	integrity          stun.MessageIntegrity
	data               chan []byte // payloads of Data indications
	responses          chan *stun.Message
	relayedIP          net.IP
	relayedPort        int
	realmValue         string
}

func dialRawTURN(server string, username, password string) (*rawTURN, error) {
	sa, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	r := &rawTURN{conn: c, server: sa, username: username, password: password,
		data: make(chan []byte, 64), responses: make(chan *stun.Message, 8)}
	go r.read()
	return r, nil
}

func (r *rawTURN) Close() { r.conn.Close() }

func (r *rawTURN) read() {
	buf := make([]byte, 1600)
	for {
		n, err := r.conn.Read(buf)
		if err != nil {
			return
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if m.Decode() != nil {
			continue
		}
		if m.Type == stun.NewType(stun.MethodData, stun.ClassIndication) {
			if v, err := m.Get(stun.AttrData); err == nil {
				select {
				case r.data <- v:
				default:
				}
			}
			continue
		}
		select {
		case r.responses <- m:
		default:
		}
	}
}

// do sends a request and returns the success response. A 401 or 438 gives
// the realm and nonce; the request is then sent again with integrity.
func (r *rawTURN) do(method stun.Method, setters ...stun.Setter) (*stun.Message, error) {
	for attempt := 0; attempt < 3; attempt++ {
		all := []stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}
		all = append(all, setters...)
		if r.nonce != nil {
			all = append(all, stun.NewUsername(r.username), r.realm, r.nonce, r.integrity)
		}
		all = append(all, stun.Fingerprint)
		req, err := stun.Build(all...)
		if err != nil {
			return nil, err
		}
		if _, err := r.conn.WriteTo(req.Raw, r.server); err != nil {
			return nil, err
		}
		var res *stun.Message
		select {
		case res = <-r.responses:
		case <-time.After(3 * time.Second):
			return nil, errors.New("no answer from the TURN server")
		}
		if res.Type.Class == stun.ClassSuccessResponse {
			return res, nil
		}
		var code stun.ErrorCodeAttribute
		code.GetFrom(res)
		if code.Code != stun.CodeUnauthorized && code.Code != stun.CodeStaleNonce {
			return res, fmt.Errorf("%s: %d %s", method, code.Code, code.Reason)
		}
		var realm stun.Realm
		var nonce stun.Nonce
		if realm.GetFrom(res) != nil || nonce.GetFrom(res) != nil {
			return res, fmt.Errorf("%s: %d without realm and nonce", method, code.Code)
		}
		if r.nonce != nil && code.Code == stun.CodeUnauthorized {
			return res, fmt.Errorf("%s: 401: the credential was refused", method)
		}
		r.realmValue = realm.String()
		r.realm, r.nonce = realm, nonce
		r.integrity = stun.NewLongTermIntegrity(r.username, r.realmValue, r.password)
	}
	return nil, fmt.Errorf("%s: no success after 3 tries", method)
}

func lifetime(d time.Duration) stun.RawAttribute {
	v := make([]byte, 4)
	binary.BigEndian.PutUint32(v, uint32(d/time.Second))
	return stun.RawAttribute{Type: stun.AttrLifetime, Value: v}
}

// allocate asks for a UDP relay that lives for life unless refreshed.
func (r *rawTURN) allocate(life time.Duration) error {
	res, err := r.do(stun.MethodAllocate,
		stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}, lifetime(life))
	if err != nil {
		return err
	}
	var relayed stun.XORMappedAddress
	if err := relayed.GetFromAs(res, stun.AttrXORRelayedAddress); err != nil {
		return err
	}
	r.relayedIP, r.relayedPort = relayed.IP, relayed.Port
	return nil
}

func (r *rawTURN) refresh(life time.Duration) error {
	_, err := r.do(stun.MethodRefresh, lifetime(life))
	return err
}

func (r *rawTURN) permit(peer *net.UDPAddr) error {
	_, err := r.do(stun.MethodCreatePermission, peerAddress(peer))
	return err
}

// send relays payload to peer in a Send indication.
func (r *rawTURN) send(peer *net.UDPAddr, payload []byte) error {
	m, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		peerAddress(peer), stun.RawAttribute{Type: stun.AttrData, Value: payload}, stun.Fingerprint)
	if err != nil {
		return err
	}
	_, err = r.conn.WriteTo(m.Raw, r.server)
	return err
}

type peerSetter struct{ a *net.UDPAddr }

func (p peerSetter) AddTo(m *stun.Message) error {
	return stun.XORMappedAddress{IP: p.a.IP, Port: p.a.Port}.AddToAs(m, stun.AttrXORPeerAddress)
}

func peerAddress(a *net.UDPAddr) stun.Setter { return peerSetter{a} }
