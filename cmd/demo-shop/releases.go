package main

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Release is one build of the demo shop: what its /version endpoint reports and how it behaves.
type Release struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Image   string `json:"image"`
	// ErrorRatio is the share of shop requests answered with 500: the fault a canary must catch.
	ErrorRatio float64 `json:"error_ratio"`
	// Note says what the release is for, so `demo-shop releases` explains itself.
	Note string `json:"note"`
}

// imageRepo is where the demo's images would live; nothing is pulled from it.
const imageRepo = "registry.example.com/demo/shop"

// release builds a catalog entry whose commit and image digest derive from the version, so
// they are stable across machines and runs without pretending to be real artefacts.
func release(version string, errorRatio float64, note string) Release {
	c := sha1.Sum([]byte("demo-shop commit " + version))
	d := sha256.Sum256([]byte("demo-shop image " + version))
	return Release{
		Version:    version,
		Commit:     hex.EncodeToString(c[:]),
		Image:      imageRepo + "@sha256:" + hex.EncodeToString(d[:]),
		ErrorRatio: errorRatio,
		Note:       note,
	}
}

// Catalog is every release the demo knows, oldest first: a stable baseline to roll back to, a
// healthy candidate and a faulty one that fails 8% of shop requests.
var Catalog = []Release{
	release("1.0.0", 0, "the release in production: the rollback target"),
	release("1.1.0", 0, "healthy candidate: completes a launch"),
	release("1.1.1", 0.08, "faulty candidate: 8% of shop requests fail with 500"),
}

// Lookup returns the catalog release with the given version.
func Lookup(version string) (Release, error) {
	i := slices.IndexFunc(Catalog, func(r Release) bool { return r.Version == version })
	if i < 0 {
		known := make([]string, len(Catalog))
		for j, r := range Catalog {
			known[j] = r.Version
		}
		return Release{}, fmt.Errorf("unknown release %q (known: %s)", version, strings.Join(known, ", "))
	}
	return Catalog[i], nil
}
