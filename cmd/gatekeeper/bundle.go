package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/bundle"
)

func newBundleCmd() *cobra.Command {
	var (
		out, keyFile, alg, keyID, revision string
		policyDirs                         []string
	)
	cmd := &cobra.Command{
		Use:   "bundle -o bundle.tar.gz [--policies DIR]... [--signing-key FILE [--signing-alg ALG]]",
		Short: "Write an OPA bundle of the gate policies, for OPA servers",
		Long: `bundle writes an OPA bundle of the gate policies (the built-ins plus any --policies
directories, compiled against the capabilities allow-list first) with the allow-list as data
under data.gatekeeper.capabilities. The manifest revision is the policies digest that
decision records carry (unless --revision overrides it; manifest metadata.policies_digest
always holds it) and the roots are gatekeeper's packages only.

With --signing-key the bundle is signed as 'opa build --signing-key' signs it
(.signatures.json); start the server with 'opa run --server --verification-key PUB
[--signing-alg ALG] bundle.tar.gz'.

An OPA server decides a gate from POST /v1/data/gatekeeper/main/result with body
{"input": ...}, the input being what 'gatekeeper evaluate --write-input FILE' writes: the
runbook travels in the input, never in the bundle. See docs/bundle.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := []bundle.Option{bundle.WithPolicies(policyDirs...), bundle.WithKeyID(keyID), bundle.WithRevision(revision)}
			if keyFile != "" {
				opts = append(opts, bundle.WithSigningKey(keyFile, alg))
			} else if cmd.Flags().Changed("signing-alg") {
				return fmt.Errorf("--signing-alg needs --signing-key")
			}
			b, err := bundle.Build(cmd.Context(), opts...)
			if err != nil {
				return err
			}
			if err := b.WriteFile(out); err != nil {
				return err
			}
			signed := "unsigned"
			if b.SigningAlg != "" {
				signed = "signed " + b.SigningAlg
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: revision %s, %d modules, roots %s, %s\n",
				out, b.Revision, len(b.Modules), strings.Join(b.Roots, " "), signed)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&out, "output", "o", "bundle.tar.gz", "bundle file to write")
	fl.StringArrayVar(&policyDirs, "policies", nil, "directory of extra Rego policies, loaded beside the built-ins (repeatable)")
	fl.StringVar(&keyFile, "signing-key", "", "sign the bundle with this private key (PEM; the secret for HS*)")
	fl.StringVar(&alg, "signing-alg", bundle.DefaultSigningAlg, "signing algorithm: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, HS256, HS384, HS512")
	fl.StringVar(&keyID, "key-id", bundle.DefaultKeyID, "key id the signature names (opa run --verification-key-id)")
	fl.StringVar(&revision, "revision", "", "manifest revision (default: the policies digest)")
	return cmd
}
