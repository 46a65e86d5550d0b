package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatekeeper-dev/gatekeeper/archive"
)

func newKeygenCmd() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "keygen -o KEYFILE",
		Short: "Create an ed25519 key for signing archived decision records",
		Long: `keygen writes a new ed25519 private key (PEM, PKCS #8, mode 0600) to KEYFILE and prints
its public key (base64 of the raw 32 bytes) and fingerprint (sha256 of the raw public key).
Sign with 'evaluate --archive DIR --sign-key KEYFILE' (or the key itself in
$GATEKEEPER_SIGNING_KEY); pin the key on replay with --public-key or --fingerprint.
The public key is also written to KEYFILE.pub. The private key is never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("-o KEYFILE is required")
			}
			priv, pemBytes, err := archive.GenerateKey()
			if err != nil {
				return err
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(out, flags, 0o600)
			if err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			if err := f.Chmod(0o600); err != nil {
				f.Close()
				return fmt.Errorf("keygen: %w", err)
			}
			if _, err := f.Write(pemBytes); err != nil {
				f.Close()
				return fmt.Errorf("keygen: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			pub := priv.Public().(ed25519.PublicKey)
			if err := os.WriteFile(out+".pub", []byte(archive.EncodePublicKey(pub)+"\n"), 0o644); err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key: %s\npublic key:  %s\nfingerprint: %s\n", out, archive.EncodePublicKey(pub), archive.Fingerprint(pub))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write the private key to (mode 0600; refused if it exists)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing key file")
	return cmd
}
