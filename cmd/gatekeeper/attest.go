package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/launch"
)

func newAttestCmd() *cobra.Command {
	var (
		a            launch.Attestation
		dir, signKey string
	)
	cmd := &cobra.Command{
		Use:   "attest --archive DIR --by NAME (--check NAME --result pass|fail [--critical] | --call hold|rollback|resume) [--note TEXT]",
		Short: "Record a manual check result or the commander's call as a signed fact in the launch archive",
		Long: `attest appends a signed "attestation" event to a launch archive: the result of a manual
check (who, what, pass or fail, a note) or the commander's hold, rollback or resume call. The
next decision of the launch reads it as a fact: a failed critical manual check or a rollback
call is a rollback reason. The launch report shows it. A signing key is required
(--sign-key FILE or the key itself in $GATEKEEPER_SIGNING_KEY; see 'gatekeeper keygen').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := archiveTo{dir, signKey}.signingKey()
			if err != nil {
				return err
			}
			e, err := launch.Attest(dir, key, a)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "attested in %s: %s (digest %s)\n", dir, describeAttestation(a), e.Digest)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "archive", "", "the launch archive directory")
	fl.StringVar(&signKey, "sign-key", "", "ed25519 private key file to sign with (default: the key in $"+signingKeyEnv+")")
	fl.StringVar(&a.By, "by", "", "who attests")
	fl.StringVar(&a.Check, "check", "", "name of the manual check")
	fl.StringVar(&a.Result, "result", "", "manual check result: pass or fail")
	fl.BoolVar(&a.Critical, "critical", false, "the manual check is critical: its failure is a rollback reason")
	fl.StringVar(&a.Call, "call", "", "the commander's call: hold, rollback or resume")
	fl.StringVar(&a.Note, "note", "", "free text")
	_ = cmd.MarkFlagRequired("archive")
	_ = cmd.MarkFlagRequired("by")
	return cmd
}

func describeAttestation(a launch.Attestation) string {
	if a.Call != "" {
		return fmt.Sprintf("%s calls %s", a.By, a.Call)
	}
	crit := ""
	if a.Critical {
		crit = " (critical)"
	}
	return fmt.Sprintf("%s: manual check %q%s %s", a.By, a.Check, crit, a.Result)
}
