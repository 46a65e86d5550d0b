package archive

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// SigAlg is the only signature algorithm records carry.
const SigAlg = "ed25519"

// Signature is a record's signature over its digest (the "sha256:…" string, as UTF-8 bytes).
type Signature struct {
	Alg            string `json:"alg"`
	KeyFingerprint string `json:"key_fingerprint"`
	PublicKey      string `json:"public_key"`
	Sig            string `json:"sig"`
}

// SigPolicy is what Walk demands of signatures beyond verifying every one present.
type SigPolicy struct {
	Require     bool   // every record must be signed
	Fingerprint string // when set, every signature must be by the key with this fingerprint
}

// Fingerprint is "sha256:" and the hex SHA-256 of the raw 32-byte public key.
func Fingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return "sha256:" + hex.EncodeToString(h[:])
}

// GenerateKey returns a new private key and its PEM (PKCS #8) encoding.
func GenerateKey() (ed25519.PrivateKey, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("keygen: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("keygen: %w", err)
	}
	return priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicKey is the base64 (standard) form of the raw public key records carry.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePrivateKey reads a private key as PEM (PKCS #8) or base64 of the 32-byte seed or the
// 64-byte key. Errors never quote the key material.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, errors.New("signing key: PEM is not a PKCS #8 private key")
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, errors.New("signing key: not an ed25519 key")
		}
		return priv, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, errors.New("signing key: neither PEM nor base64")
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(raw), nil
	}
	return nil, fmt.Errorf("signing key: %d bytes, want %d or %d", len(raw), ed25519.SeedSize, ed25519.PrivateKeySize)
}

// ParsePublicKey reads a public key as PEM (PKIX) or base64 of the raw 32 bytes.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("public key: not an ed25519 key")
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("public key: want PEM or base64 of 32 bytes")
	}
	return ed25519.PublicKey(raw), nil
}

// sign returns the signature of digest by priv.
func sign(priv ed25519.PrivateKey, digest string) *Signature {
	pub := priv.Public().(ed25519.PublicKey)
	return &Signature{
		Alg: SigAlg, KeyFingerprint: Fingerprint(pub), PublicKey: EncodePublicKey(pub),
		Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(digest))),
	}
}

// checkSignature verifies s over digest and the policy, returning what failed.
func checkSignature(s *Signature, digest string, p SigPolicy) error {
	if s == nil {
		if p.Require {
			return errors.New("not signed (signatures are required)")
		}
		return nil
	}
	if s.Alg != SigAlg {
		return fmt.Errorf("signature: unknown algorithm %q", s.Alg)
	}
	raw, err := base64.StdEncoding.DecodeString(s.PublicKey)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return errors.New("signature: public_key is not base64 of 32 bytes")
	}
	pub := ed25519.PublicKey(raw)
	if fp := Fingerprint(pub); fp != s.KeyFingerprint {
		return fmt.Errorf("signature: key_fingerprint %s is not that of the recorded public key (%s)", s.KeyFingerprint, fp)
	}
	sig, err := base64.StdEncoding.DecodeString(s.Sig)
	if err != nil || !ed25519.Verify(pub, []byte(digest), sig) {
		return fmt.Errorf("signature by key %s does not verify (signature or record tampered)", s.KeyFingerprint)
	}
	if p.Fingerprint != "" && s.KeyFingerprint != p.Fingerprint {
		return fmt.Errorf("signed by key %s, not by the required key %s", s.KeyFingerprint, p.Fingerprint)
	}
	return nil
}
