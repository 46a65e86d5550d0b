package bundle

import (
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
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
