// Package archive keeps the launch archive: one directory per launch holding every decision
// record of that launch, hash-chained and append-only, with everything needed to re-evaluate
// each decision stored once by content digest.
//
// Layout of an archive directory:
//
//	archive.json          {"created_at", "environment", "format": 1, "launch_id"}
//	records.jsonl         one decision record per line, canonical JSON (RFC 8785), append-only
//	objects/sha256/<hex>  content-addressed blobs, each stored once:
//	                        the policy input (canonical JSON: normalized runbook and facts),
//	                        the runbook source bytes, the normalized runbook (canonical JSON),
//	                        the policy module set (canonical JSON object name → Rego source)
//	lock                  the lock file appenders hold with flock(2)
//
// A record is DESIGN.md's decision record plus "runbook_source" (digest of the runbook's
// source bytes) and "digest" (the record's own digest: SHA-256 of its canonical JSON without
// the "digest" member). input_digest, runbook_digest, runbook_source and policies_digest each
// name a blob. "prev" is the "sha256:" digest of the previous line of records.jsonl (the
// previous record's canonical JSON, its "digest" included); the first record has no prev.
//
// A record may carry "signature": {"alg": "ed25519", "key_fingerprint", "public_key", "sig"},
// the ed25519 signature (base64) over the record's "digest" string, by the key whose raw
// public key (base64) and fingerprint ("sha256:" hex of the raw key) it names. The digest
// is computed without "digest" and "signature"; prev covers the whole line, signature
// included. Walk verifies every signature present; SigPolicy can require signatures and a key.
//
// Append writes the blobs first (temporary file, fsync, rename, fsync of the directory), then,
// holding an exclusive flock on the lock file, reads the last record for prev and appends the
// new line with one write and an fsync. A crash leaves at worst an unreferenced blob or a torn
// last line; a torn line is reported by Walk and refused by Append, never dropped or merged.
//
// Walk verifies as it streams: the format version, each line's JSON and own digest, the
// chain, the launch coordinates and every referenced blob's presence and digest.
package archive
