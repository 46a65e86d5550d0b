package bundle

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func TestRootsFor(t *testing.T) {
	tests := []struct {
		name string
		pkgs []string
		want []string
	}{
		{name: "built-ins", pkgs: []string{"gatekeeper.lib", "gatekeeper.gates.window", "gatekeeper.gates.canary", "gatekeeper.main"},
			want: []string{"gatekeeper/capabilities", "gatekeeper/gates", "gatekeeper/lib", "gatekeeper/main"}},
		{name: "user package outside gatekeeper", pkgs: []string{"gatekeeper.gates.window", "team.freeze.rules"},
			want: []string{"gatekeeper/capabilities", "gatekeeper/gates", "team/freeze/rules"}},
		{name: "user package nested in another", pkgs: []string{"team.a", "team.a.b"},
			want: []string{"gatekeeper/capabilities", "team/a"}},
		{name: "a package named gatekeeper covers everything", pkgs: []string{"gatekeeper", "gatekeeper.lib"},
			want: []string{"gatekeeper"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refs []ast.Ref
			for _, p := range tt.pkgs {
				refs = append(refs, ast.MustParseRef("data."+p))
			}
			got, err := rootsFor(refs)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("roots %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBuildRevisionAndUserPolicies(t *testing.T) {
	ctx := context.Background()
	dir := "../testdata/example/policies"
	b, err := Build(ctx, WithPolicies(dir), WithRevision("git-86f7e43"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	read, err := opabundle.NewReader(&buf).Read()
	if err != nil {
		t.Fatalf("opa cannot read the bundle: %v", err)
	}
	ps, err := engine.LoadPolicies(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range read.Modules {
		names = append(names, m.URL)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{name: "revision", got: read.Manifest.Revision, want: "git-86f7e43"},
		{name: "metadata digest", got: read.Manifest.Metadata["policies_digest"], want: ps.Digest()},
		{name: "digest field", got: b.PoliciesDigest, want: ps.Digest()},
		{name: "user module", got: slices.Contains(names, "/user/change_freeze.rego"), want: true},
		{name: "no test modules", got: slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, "_test.rego") }), want: false},
		{name: "module count", got: len(names), want: len(ps.Modules())},
		{name: "unsigned", got: len(read.Signatures.Signatures), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	// Same policies, same bytes: an unsigned bundle is reproducible.
	b2, err := Build(ctx, WithPolicies(dir), WithRevision("git-86f7e43"))
	if err != nil {
		t.Fatal(err)
	}
	var buf1, buf2 bytes.Buffer
	if err := b.Write(&buf1); err != nil {
		t.Fatal(err)
	}
	if err := b2.Write(&buf2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf1.Bytes(), buf2.Bytes()) {
		t.Error("two builds of the same policies differ")
	}
}
