package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FactsFile is a validated facts file: the policy input that
// `evaluate --facts` decides on, or the facts half of it.
type FactsFile struct {
	Path          string         // file it was read from
	Facts         map[string]any // keyed by fact name; numbers are float64
	Gate          string
	Step          *int
	Environment   string
	LaunchID      string
	Now           string
	CutoverAt     string
	StepStartedAt string
	Runbook       map[string]any // the runbook carried in the input, if any; not validated against #Runbook
}

// fastFacts lets ParseFacts check well-formed JSON in Go (factsfast.go) or without a syntax tree (see
// factsjson.go); tests turn it off to compare both ways.
var fastFacts = true

// LoadFacts reads and validates a facts file (JSON) against #Facts. Problems
// with the content are a *ValidationError; a file that cannot be read is
// reported as the wrapped I/O error.
func LoadFacts(path string) (*FactsFile, error) {
	return (*Validator)(nil).LoadFacts(path)
}

// LoadFacts is LoadFacts with the Validator's schemas.
func (vd *Validator) LoadFacts(path string) (*FactsFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read facts: %w", err)
	}
	return vd.ParseFacts(path, data)
}

// ParseFacts validates data, read from path, against #Facts. JSON syntax
// errors (including NaN or Infinity literals) and every schema problem are
// reported with file:line:col in a *ValidationError.
func ParseFacts(path string, data []byte) (*FactsFile, error) {
	return (*Validator)(nil).ParseFacts(path, data)
}

// ParseFacts is ParseFacts with the Validator's schemas.
func (vd *Validator) ParseFacts(path string, data []byte) (ff *FactsFile, err error) {
	defer func() {
		// As in ParseRunbook: an evaluator crash must not take the CLI down.
		if r := recover(); r != nil {
			ff, err = nil, newValidationError(path, []Issue{{File: path, Line: 1, Col: 1, Msg: fmt.Sprintf("internal error while validating: %v", r)}})
		}
	}()
	// Most bodies are valid: checked in Go, they skip CUE altogether.
	if ff, ok := AcceptFacts(path, data); ok {
		return ff, nil
	}
	// Facts are machine-written JSON whatever the file is called: a facts
	// file named .txt or from stdin must not be read as YAML or CUE.
	name := path
	if !strings.EqualFold(filepath.Ext(path), ".json") {
		name = path + ".json"
	}
	c, err := newChecker(vd, name, data, "#Facts")
	if err != nil {
		return nil, err
	}
	c.file = path
	c.fast = fastFacts
	v, issues := c.run()
	if len(issues) > 0 {
		return nil, newValidationError(path, issues)
	}
	// #Facts has no defaults: what it accepted is the file itself.
	value, ok := c.decodedValue()
	if !ok {
		if c.root == nil {
			// Validated without a syntax tree: again with one, to locate the problem.
			c.fast = false
			if v, issues = c.run(); len(issues) > 0 {
				return nil, newValidationError(path, issues)
			}
		}
		if value, issues = c.export(v); len(issues) > 0 {
			return nil, newValidationError(path, issues)
		}
	}
	return factsFile(path, value), nil
}

// AcceptFacts is ParseFacts for a document that #Facts certainly accepts, checked in Go
// without CUE (factsfast.go). False says only that ParseFacts must decide, and word the
// errors: a caller that reads the same body for more than its facts (serve) can then read
// a valid body once. Unlike a Validator, it is safe for concurrent use.
func AcceptFacts(path string, data []byte) (*FactsFile, bool) {
	if !fastFacts {
		return nil, false
	}
	tree, ok := decodeJSON(data)
	if !ok || !factsAccepted(tree) {
		return nil, false
	}
	value, ok := jsonFloats(tree)
	if !ok {
		return nil, false // a number beyond a double: ParseFacts says which
	}
	return factsFile(path, value.(map[string]any)), true
}

// factsFile is the FactsFile of a document #Facts accepted.
func factsFile(path string, value map[string]any) *FactsFile {
	ff := &FactsFile{Path: path}
	ff.Facts, _ = value["facts"].(map[string]any)
	ff.Gate, _ = value["gate"].(string)
	ff.Environment, _ = value["environment"].(string)
	ff.LaunchID, _ = value["launch_id"].(string)
	ff.Now, _ = value["now"].(string)
	ff.CutoverAt, _ = value["cutover_at"].(string)
	ff.StepStartedAt, _ = value["step_started_at"].(string)
	ff.Runbook, _ = value["runbook"].(map[string]any)
	if s, ok := value["step"].(float64); ok {
		// The schema allows only integers 1..100 here.
		step := int(s)
		ff.Step = &step
	}
	if ff.Facts == nil {
		ff.Facts = map[string]any{}
	}
	return ff
}
