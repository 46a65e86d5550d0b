package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// docsDir is where the command reference lives in the repository; docs_test.go fails when it
// no longer matches the command tree.
const docsDir = "docs/cli"

func newGenDocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "Write the Markdown command reference (docs/cli) generated from the command tree",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return genDocs(cmd.Root(), args[0])
		},
	}
}

// genDocs writes one Markdown page per available command into dir and removes pages of
// commands that no longer exist, so the directory always equals the tree. The pages carry no
// generation date, so regenerating an unchanged tree changes nothing.
func genDocs(root *cobra.Command, dir string) error {
	// Execute adds these lazily; add them now so the reference lists them however genDocs is
	// reached (the hidden command or a test calling it directly).
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	disableAutoGenTag(root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("gen-docs: %w", err)
		}
	}
	if err := doc.GenMarkdownTreeCustom(root, dir, func(string) string { return "" }, docLink); err != nil {
		return fmt.Errorf("gen-docs: %w", err)
	}
	return nil
}

// docLink keeps cobra's relative links (gatekeeper_evaluate.md), which GitHub and most
// Markdown viewers resolve within docs/cli.
func docLink(name string) string { return strings.ToLower(name) }

func disableAutoGenTag(c *cobra.Command) {
	c.DisableAutoGenTag = true
	for _, sub := range c.Commands() {
		disableAutoGenTag(sub)
	}
}
