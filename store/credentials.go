package store

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"errors"
	"hash"

	"golang.org/x/text/secure/precis"
)

// SCRAM mechanism names whose keys are stored for every agent.
const (
	ScramSHA1   = "SCRAM-SHA-1"
	ScramSHA256 = "SCRAM-SHA-256"
)

// Credential is what the server keeps of a password for one SCRAM hash
// (RFC 5802 §3): enough to verify a client proof and to prove itself, not
// enough to sign in.
type Credential struct {
	Mechanism  string
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// HashFor returns the hash of a SCRAM mechanism, or nil if unknown.
func HashFor(mechanism string) func() hash.Hash {
	switch mechanism {
	case ScramSHA1:
		return sha1.New
	case ScramSHA256:
		return sha256.New
	}
	return nil
}

// NormalizePassword applies the PRECIS OpaqueString profile (RFC 8265 §4.2),
// the successor of SASLprep that SCRAM clients apply before hashing.
func NormalizePassword(pw string) string {
	if n, err := precis.OpaqueString.String(pw); err == nil {
		return n
	}
	return pw
}

// SaltedKeys computes StoredKey and ServerKey from a password (RFC 5802 §3).
func SaltedKeys(h func() hash.Hash, password string, salt []byte, iterations int) (storedKey, serverKey []byte) {
	salted, err := pbkdf2.Key(h, NormalizePassword(password), salt, iterations, h().Size())
	if err != nil {
		// Only reachable with FIPS-only parameters we never use.
		panic("store: pbkdf2: " + err.Error())
	}
	return KeysFromSalted(h, salted)
}

// KeysFromSalted derives StoredKey and ServerKey from SaltedPassword.
func KeysFromSalted(h func() hash.Hash, salted []byte) (storedKey, serverKey []byte) {
	mac := hmac.New(h, salted)
	mac.Write([]byte("Client Key"))
	clientKey := mac.Sum(nil)
	mac = hmac.New(h, salted)
	mac.Write([]byte("Server Key"))
	serverKey = mac.Sum(nil)
	sum := h()
	sum.Write(clientKey)
	return sum.Sum(nil), serverKey
}

// VerifyPassword checks a clear password (SASL PLAIN) against the stored
// keys in constant time.
func (c Credential) VerifyPassword(password string) bool {
	h := HashFor(c.Mechanism)
	if h == nil {
		return false
	}
	stored, _ := SaltedKeys(h, password, c.Salt, c.Iterations)
	return hmac.Equal(stored, c.StoredKey)
}

func deriveCredentials(password string, iterations int) []Credential {
	var creds []Credential
	for _, mech := range []string{ScramSHA1, ScramSHA256} {
		salt := make([]byte, 16)
		rand.Read(salt)
		c := Credential{Mechanism: mech, Salt: salt, Iterations: iterations}
		c.StoredKey, c.ServerKey = SaltedKeys(HashFor(mech), password, salt, iterations)
		creds = append(creds, c)
	}
	return creds
}

func putCredentials(ctx context.Context, tx *sql.Tx, agentID int64, creds []Credential) error {
	for _, c := range creds {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_credentials
			(agent_id, mechanism, salt, iterations, stored_key, server_key) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (agent_id, mechanism) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations,
			stored_key = excluded.stored_key, server_key = excluded.server_key`,
			agentID, c.Mechanism, c.Salt, c.Iterations, c.StoredKey, c.ServerKey)
		if err != nil {
			return err
		}
	}
	return nil
}

// Login returns an agent with the stored credentials for every SCRAM hash,
// for authentication. An unknown portal or agent gives ErrNotFound.
func (s *Store) Login(ctx context.Context, portal, username string) (Agent, []Credential, error) {
	a, err := s.agent(ctx, s.r, portal, username)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Agent{}, nil, ErrNotFound
		}
		return Agent{}, nil, err
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT mechanism, salt, iterations, stored_key, server_key FROM agent_credentials WHERE agent_id = ?`, a.ID)
	if err != nil {
		return Agent{}, nil, wrap("login", err)
	}
	defer release(rows)
	var creds []Credential
	for rows.Next() {
		var c Credential
		if err := rows.Scan(&c.Mechanism, &c.Salt, &c.Iterations, &c.StoredKey, &c.ServerKey); err != nil {
			return Agent{}, nil, wrap("login", err)
		}
		creds = append(creds, c)
	}
	return a, creds, wrap("login", rows.Err())
}
