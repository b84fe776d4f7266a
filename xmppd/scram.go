package xmppd

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"

	"mellium.im/sasl"

	"jabberdesk/store"
)

// SCRAM errors; each becomes <not-authorized/> or <malformed-request/>.
var (
	errSCRAMMalformed = errors.New("scram: malformed message")
	errSCRAMAuthzID   = errors.New("scram: authorization identity differs from the user")
	errSCRAMBinding   = errors.New("scram: channel binding is not offered")
)

// scramLookup returns the stored credential of the mechanism's hash for a
// SASL user name, or ok=false if there is no such account.
type scramLookup func(username string) (cred store.Credential, ok bool)

// scramServer is the server side of SCRAM (RFC 5802, RFC 7677) as a
// mellium.im/sasl Mechanism. Unlike sasl.ScramSha256, which needs the
// salted password, it verifies proofs with the StoredKey and ServerKey that
// the store keeps, so the database never holds a password equivalent.
// Unknown users get a made-up salt and fail at the proof, like wrong
// passwords, so that sign-in does not reveal which accounts exist.
func scramServer(name string, h func() hash.Hash, lookup scramLookup, fakeSecret []byte, iterations int) sasl.Mechanism {
	return sasl.Mechanism{
		Name: name,
		Start: func(*sasl.Negotiator) (bool, []byte, any, error) {
			return false, nil, nil, sasl.ErrInvalidState // client side only
		},
		Next: func(n *sasl.Negotiator, challenge []byte, data any) (bool, []byte, any, error) {
			switch n.State() & sasl.StepMask {
			case sasl.AuthTextSent:
				return scramFirst(n, challenge, h, lookup, fakeSecret, iterations)
			case sasl.ResponseSent:
				st, ok := data.(*scramState)
				if !ok {
					return false, nil, nil, sasl.ErrInvalidState
				}
				return scramFinal(st, challenge, h)
			}
			return false, nil, nil, sasl.ErrTooManySteps
		},
	}
}

type scramState struct {
	gs2Header   []byte
	clientFirst []byte // client-first-message-bare
	serverFirst []byte
	nonce       []byte
	cred        store.Credential
	known       bool
}

func scramFirst(n *sasl.Negotiator, msg []byte, h func() hash.Hash, lookup scramLookup, fakeSecret []byte, iterations int) (bool, []byte, any, error) {
	// gs2-header = gs2-cbind-flag "," [authzid] ","
	flag, rest, ok := bytes.Cut(msg, []byte{','})
	if !ok {
		return false, nil, nil, errSCRAMMalformed
	}
	switch {
	case bytes.Equal(flag, []byte("n")), bytes.Equal(flag, []byte("y")):
	case bytes.HasPrefix(flag, []byte("p=")):
		return false, nil, nil, errSCRAMBinding
	default:
		return false, nil, nil, errSCRAMMalformed
	}
	authz, bare, ok := bytes.Cut(rest, []byte{','})
	if !ok {
		return false, nil, nil, errSCRAMMalformed
	}
	st := &scramState{gs2Header: msg[:len(msg)-len(bare)], clientFirst: bare}
	attrs := bytes.Split(bare, []byte{','})
	if len(attrs) < 2 || !bytes.HasPrefix(attrs[0], []byte("n=")) || !bytes.HasPrefix(attrs[1], []byte("r=")) {
		return false, nil, nil, errSCRAMMalformed
	}
	user, err := unescapeSASLName(attrs[0][2:])
	cnonce := attrs[1][2:]
	if err != nil || len(user) == 0 || len(cnonce) == 0 {
		return false, nil, nil, errSCRAMMalformed
	}
	if len(authz) > 0 {
		a, err := unescapeSASLName(bytes.TrimPrefix(authz, []byte("a=")))
		if err != nil || !bytes.HasPrefix(authz, []byte("a=")) {
			return false, nil, nil, errSCRAMMalformed
		}
		if !bytes.Equal(a, user) {
			return false, nil, nil, errSCRAMAuthzID
		}
	}
	st.cred, st.known = lookup(string(user))
	if !st.known {
		st.cred = fakeCredential(h, fakeSecret, user, iterations)
	}
	st.nonce = append(append([]byte(nil), cnonce...), n.Nonce()...)
	resp := make([]byte, 0, 128)
	resp = append(resp, "r="...)
	resp = append(resp, st.nonce...)
	resp = append(resp, ",s="...)
	resp = base64.StdEncoding.AppendEncode(resp, st.cred.Salt)
	resp = append(resp, ",i="...)
	resp = strconv.AppendInt(resp, int64(st.cred.Iterations), 10)
	st.serverFirst = resp
	return true, resp, st, nil
}

func scramFinal(st *scramState, msg []byte, h func() hash.Hash) (bool, []byte, any, error) {
	i := bytes.LastIndex(msg, []byte(",p="))
	if i < 0 {
		return false, nil, nil, errSCRAMMalformed
	}
	withoutProof := msg[:i]
	proof, err := base64.StdEncoding.DecodeString(string(msg[i+3:]))
	if err != nil || len(proof) != h().Size() {
		return false, nil, nil, errSCRAMMalformed
	}
	attrs := bytes.Split(withoutProof, []byte{','})
	if len(attrs) < 2 || !bytes.HasPrefix(attrs[0], []byte("c=")) || !bytes.HasPrefix(attrs[1], []byte("r=")) {
		return false, nil, nil, errSCRAMMalformed
	}
	cb, err := base64.StdEncoding.DecodeString(string(attrs[0][2:]))
	if err != nil || !bytes.Equal(cb, st.gs2Header) || !bytes.Equal(attrs[1][2:], st.nonce) {
		return false, nil, nil, sasl.ErrAuthn
	}
	authMessage := make([]byte, 0, len(st.clientFirst)+len(st.serverFirst)+len(withoutProof)+2)
	authMessage = append(authMessage, st.clientFirst...)
	authMessage = append(authMessage, ',')
	authMessage = append(authMessage, st.serverFirst...)
	authMessage = append(authMessage, ',')
	authMessage = append(authMessage, withoutProof...)

	mac := hmac.New(h, st.cred.StoredKey)
	mac.Write(authMessage)
	clientKey := mac.Sum(nil)
	subtle.XORBytes(clientKey, clientKey, proof)
	sum := h()
	sum.Write(clientKey)
	if subtle.ConstantTimeCompare(sum.Sum(nil), st.cred.StoredKey) != 1 || !st.known {
		return false, nil, nil, sasl.ErrAuthn
	}
	mac = hmac.New(h, st.cred.ServerKey)
	mac.Write(authMessage)
	resp := append([]byte("v="), base64.StdEncoding.EncodeToString(mac.Sum(nil))...)
	return false, resp, nil, nil
}

// fakeCredential gives a stable salt for an unknown user, so that asking
// twice does not tell an unknown user from a known one.
func fakeCredential(h func() hash.Hash, secret, user []byte, iterations int) store.Credential {
	mac := hmac.New(sha256.New, secret)
	mac.Write(user)
	salt := mac.Sum(nil)[:16]
	key := make([]byte, h().Size())
	rand.Read(key)
	return store.Credential{Salt: salt, Iterations: iterations, StoredKey: key, ServerKey: key}
}

// unescapeSASLName decodes "=2C" and "=3D" (RFC 5802 §5.1); any other "="
// is an error.
func unescapeSASLName(b []byte) ([]byte, error) {
	if bytes.IndexByte(b, '=') < 0 {
		return b, nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '=' {
			out = append(out, b[i])
			continue
		}
		switch {
		case bytes.HasPrefix(b[i:], []byte("=2C")):
			out = append(out, ',')
		case bytes.HasPrefix(b[i:], []byte("=3D")):
			out = append(out, '=')
		default:
			return nil, errSCRAMMalformed
		}
		i += 2
	}
	return out, nil
}
