// Package bundle builds OPA bundles of gatekeeper's gate policies, for OPA servers that decide
// gates the way `gatekeeper evaluate` does.
//
// A bundle carries the exact module sources of a policy set (the built-ins and any user
// directories), so the manifest revision is the same policies_digest that decision records
// carry; the capabilities allow-list the modules were compiled against, as data under
// data.gatekeeper.capabilities; and, when signed, a .signatures.json made by the same OPA
// code `opa build --signing-key` uses. The runbook is never in the bundle: it travels in the
// input (DESIGN.md), as `gatekeeper evaluate --write-input` writes it.
package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/gatekeeper-dev/gatekeeper/engine"
	"github.com/gatekeeper-dev/gatekeeper/policies"
)

// Entrypoint is the document an OPA server answers a gate decision from: the decision of the
// gate named by input.gate, with its checks, warnings and completeness.
const Entrypoint = "gatekeeper/main/result"

// CapabilitiesRoot is where the bundle puts the capabilities allow-list in data.
const CapabilitiesRoot = "gatekeeper/capabilities"

// DefaultKeyID is the key id a signature names when none is given: `opa build` and
// `opa run --verification-key` default to it too.
const DefaultKeyID = "default"

// DefaultSigningAlg is the signing algorithm when none is given, as for `opa build`.
const DefaultSigningAlg = "RS256"

// SigningError reports a signing key or algorithm that cannot sign the bundle. It names
// the key file, never its content.
type SigningError struct {
	KeyFile string
	Alg     string
	Err     error
}

func (e *SigningError) Error() string {
	return fmt.Sprintf("bundle sign with %s (%s): %v", e.KeyFile, e.Alg, e.Err)
}

func (e *SigningError) Unwrap() error { return e.Err }

// Option configures Build.
type Option func(*config)

type config struct {
	policyDirs []string
	keyFile    string
	alg        string
	keyID      string
	revision   string
}

// WithPolicies adds the modules of user policy directories, as `evaluate --policies` loads them.
func WithPolicies(dirs ...string) Option {
	return func(c *config) { c.policyDirs = append(c.policyDirs, dirs...) }
}

// WithSigningKey signs the bundle with the private key (PEM; for HS* the secret) in keyFile
// using alg (RS256 when empty).
func WithSigningKey(keyFile, alg string) Option {
	return func(c *config) { c.keyFile, c.alg = keyFile, alg }
}

// WithKeyID sets the key id the signature names (DefaultKeyID when empty); the OPA server
// verifies with the key it knows under that id.
func WithKeyID(id string) Option {
	return func(c *config) { c.keyID = id }
}

// WithRevision overrides the manifest revision, for fleets that key it on something else
// (a git SHA); the policies digest stays in the manifest metadata.
func WithRevision(rev string) Option {
	return func(c *config) { c.revision = rev }
}

// Bundle is a built bundle, ready to write.
type Bundle struct {
	// PoliciesDigest identifies the policy set as decision records do.
	PoliciesDigest string
	// Revision is the manifest revision: PoliciesDigest unless overridden.
	Revision string
	// Roots are the manifest roots: the data paths the bundle owns on an OPA server.
	Roots []string
	// Modules are the module file names inside the bundle, sorted.
	Modules []string
	// SigningAlg is the signature's algorithm, empty when unsigned.
	SigningAlg string

	b opabundle.Bundle
}

// Build compiles the policy set with the capabilities allow-list, exactly as evaluate loads
// it, and assembles the bundle. A module that does not compile is refused here, not on the
// OPA server.
func Build(ctx context.Context, opts ...Option) (*Bundle, error) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.keyID == "" {
		c.keyID = DefaultKeyID
	}
	ps, err := engine.LoadPolicies(ctx, c.policyDirs...)
	if err != nil {
		return nil, err
	}
	caps, err := capabilitiesData()
	if err != nil {
		return nil, err
	}
	mods := ps.Modules()
	names := make([]string, 0, len(mods))
	for name := range mods {
		names = append(names, name)
	}
	sort.Strings(names)

	files := make([]opabundle.ModuleFile, 0, len(names))
	var pkgs []ast.Ref
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1}
	for _, name := range names {
		m, err := ast.ParseModuleWithOpts(name, mods[name], popts)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		pkgs = append(pkgs, m.Package.Path)
		// The exact source, unformatted: the bundle's modules must digest to PoliciesDigest.
		p := "/" + name
		files = append(files, opabundle.ModuleFile{URL: p, Path: p, RelativePath: name, Raw: []byte(mods[name]), Parsed: m})
	}
	roots, err := rootsFor(pkgs)
	if err != nil {
		return nil, err
	}
	out := &Bundle{PoliciesDigest: ps.Digest(), Revision: ps.Digest(), Roots: roots, Modules: names}
	if c.revision != "" {
		out.Revision = c.revision
	}
	b := opabundle.Bundle{
		Data:    map[string]any{"gatekeeper": map[string]any{"capabilities": caps}},
		Modules: files,
		Manifest: opabundle.Manifest{
			Revision: out.Revision,
			Roots:    &roots,
			Metadata: map[string]any{
				"policies_digest":    ps.Digest(),
				"gatekeeper_version": engine.Version(),
				"entrypoint":         Entrypoint,
			},
		},
	}
	b.Manifest.SetRegoVersion(ast.RegoV1)
	if c.keyFile != "" {
		if err := sign(&b, c); err != nil {
			return nil, err
		}
		out.SigningAlg = algOrDefault(c.alg)
	}
	out.b = b
	return out, nil
}

// Write writes the bundle as a gzipped tarball, the form `opa run` and bundle servers take.
func (b *Bundle) Write(w io.Writer) error {
	// Formatting would change the module bytes and so their digest.
	if err := opabundle.NewWriter(w).DisableFormat(true).Write(b.b); err != nil {
		return fmt.Errorf("bundle write: %w", err)
	}
	return nil
}

// WriteFile writes the bundle to path, replacing it only once the whole bundle is written.
func (b *Bundle) WriteFile(path string) error {
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("bundle write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("bundle write %s: %w", path, err)
	}
	return nil
}

func algOrDefault(alg string) string {
	if alg == "" {
		return DefaultSigningAlg
	}
	return alg
}

// sign signs b as `opa build --signing-key` does: the same signing config, the same key id
// claim and header, over the modules, data and manifest.
func sign(b *opabundle.Bundle, c config) error {
	alg := algOrDefault(c.alg)
	fail := func(err error) error { return &SigningError{KeyFile: c.keyFile, Alg: alg, Err: err} }
	if !keys.IsSupportedAlgorithm(alg) {
		return fail(fmt.Errorf("unsupported algorithm (want one of %s)", strings.Join(supportedAlgs, ", ")))
	}
	// OPA takes a key argument that is not a file as the key itself: a mistyped path
	// must be reported as such, not as an unparsable key.
	st, err := os.Stat(c.keyFile)
	if err != nil {
		return fail(errors.Unwrap(err))
	}
	if st.IsDir() {
		return fail(errors.New("is a directory"))
	}
	sc := opabundle.NewSigningConfig(c.keyFile, alg, "")
	if _, err := sc.GetPrivateKey(); err != nil {
		return fail(err)
	}
	if err := b.GenerateSignature(sc, c.keyID, false); err != nil {
		return fail(err)
	}
	return nil
}

var supportedAlgs = []string{"ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}

// capabilitiesData is the embedded capabilities.json as generic JSON, numbers kept as written.
func capabilitiesData() (any, error) {
	raw, err := fs.ReadFile(policies.FS, "capabilities.json")
	if err != nil {
		return nil, fmt.Errorf("bundle: read capabilities: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("bundle: parse capabilities: %w", err)
	}
	return v, nil
}

// rootsFor returns the manifest roots: gatekeeper/<second segment> for gatekeeper's own
// packages (gates, lib, main), the full package path for any other user package, and the
// capabilities data path, with roots inside another root dropped (OPA refuses overlaps).
func rootsFor(pkgs []ast.Ref) ([]string, error) {
	set := map[string]bool{CapabilitiesRoot: true}
	for _, ref := range pkgs {
		segs, err := storage.NewPathForRef(ref)
		if err != nil {
			return nil, fmt.Errorf("bundle: package %v: %w", ref, err)
		}
		if len(segs) >= 2 && segs[0] == "gatekeeper" {
			segs = segs[:2]
		}
		set[strings.Join(segs, "/")] = true
	}
	all := make([]string, 0, len(set))
	for r := range set {
		all = append(all, r)
	}
	sort.Strings(all)
	roots := all[:0:0]
	for _, r := range all {
		covered := slices.ContainsFunc(all, func(o string) bool { return o != r && strings.HasPrefix(r+"/", o+"/") })
		if !covered {
			roots = append(roots, r)
		}
	}
	return roots, nil
}
