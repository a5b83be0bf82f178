package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"

	bolt "go.etcd.io/bbolt"
)

// ServiceIdentity is what makes one emulator instance a particular service: the access policy key
// clients sign with and the ID scope devices register under. Both are created on first start and
// kept in the store, so a restarted emulator is the same service.
type ServiceIdentity struct {
	// PolicyName is the shared access policy (always provisioningserviceowner).
	PolicyName string
	// PolicyKey is the policy's key, base64 of 32 random bytes.
	PolicyKey string
	// IDScope is the scope devices register under: "0ne" and 8 upper-case hex digits.
	IDScope string
}

// PolicyName is the one shared access policy the emulator has, named as DPS names its default.
const PolicyName = "provisioningserviceowner"

// Identity returns the service identity, creating and storing it on first use.
func (s *Store) Identity(ctx context.Context) (ServiceIdentity, error) {
	if err := ctx.Err(); err != nil {
		return ServiceIdentity{}, err
	}
	id := ServiceIdentity{PolicyName: PolicyName}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		key := b.Get([]byte("policy-key"))
		if key == nil {
			var raw [32]byte
			if _, err := rand.Read(raw[:]); err != nil {
				return err
			}
			key = []byte(base64.StdEncoding.EncodeToString(raw[:]))
			if err := b.Put([]byte("policy-key"), key); err != nil {
				return err
			}
		}
		scope := b.Get([]byte("id-scope"))
		if scope == nil {
			var raw [4]byte
			if _, err := rand.Read(raw[:]); err != nil {
				return err
			}
			scope = []byte("0ne" + upperHex(raw[:]))
			if err := b.Put([]byte("id-scope"), scope); err != nil {
				return err
			}
		}
		id.PolicyKey = string(key)
		id.IDScope = string(scope)
		return nil
	})
	return id, err
}

func upperHex(b []byte) string {
	s := []byte(hex.EncodeToString(b))
	for i, c := range s {
		if c >= 'a' && c <= 'f' {
			s[i] = c - 'a' + 'A'
		}
	}
	return string(s)
}
