package engine

import (
	"fmt"
	"strings"
)

// Gate identifies one decision point of a launch (DESIGN.md's gate table).
type Gate string

// The gates of a launch, in the order a launch meets them.
const (
	PreCutover   Gate = "pre-cutover"
	PostDeploy   Gate = "post-deploy"
	PostSmoke    Gate = "post-smoke"
	Canary       Gate = "canary"
	Window       Gate = "window"
	PostRollback Gate = "post-rollback"
)

// Gates lists every gate in launch order.
func Gates() []Gate {
	return []Gate{PreCutover, PostDeploy, PostSmoke, Canary, Window, PostRollback}
}

// ParseGate accepts a gate id as written on the command line.
func ParseGate(s string) (Gate, error) {
	for _, g := range Gates() {
		if string(g) == s {
			return g, nil
		}
	}
	names := make([]string, 0, len(Gates()))
	for _, g := range Gates() {
		names = append(names, string(g))
	}
	return "", fmt.Errorf("unknown gate %q (want one of %s)", s, strings.Join(names, ", "))
}

// Package is the Rego package suffix of the gate: gate ids use dashes, Rego names cannot.
func (g Gate) Package() string { return strings.ReplaceAll(string(g), "-", "_") }

// BeforeCutover reports whether the gate is decided before anything is deployed,
// so that a rollback outcome can only ever mean "do not start".
func (g Gate) BeforeCutover() bool { return g == PreCutover }
