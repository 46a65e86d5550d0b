package engine

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"
)

// Issue is one problem in a runbook or facts file, located in its source.
type Issue struct {
	File string
	Line int
	Col  int
	Path string // field path, e.g. environments.production.cohorts.new.replicas
	Msg  string // what was expected
}

// String renders the issue as "file:line:col: field.path: message".
func (i Issue) String() string {
	var b strings.Builder
	b.WriteString(i.File)
	if i.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", i.Line, i.Col)
	}
	b.WriteString(": ")
	if i.Path != "" {
		b.WriteString(i.Path)
		b.WriteString(": ")
	}
	b.WriteString(i.Msg)
	return b.String()
}

// ValidationError reports every problem found in one file at once.
type ValidationError struct {
	File   string
	Issues []Issue
}

// Error lists every issue, one per line.
func (e *ValidationError) Error() string {
	if len(e.Issues) == 0 {
		return e.File + ": invalid"
	}
	lines := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		lines[i] = is.String()
	}
	return strings.Join(lines, "\n")
}

func newValidationError(file string, issues []Issue) *ValidationError {
	return &ValidationError{File: file, Issues: sortIssues(issues)}
}

// sortIssues orders issues as they appear in the file and drops duplicates,
// which CUE reports once per conjunct that failed.
func sortIssues(issues []Issue) []Issue {
	slices.SortFunc(issues, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Path, b.Path), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.Compact(issues)
}

// rawIssue is one CUE error before it is located in the input file.
type rawIssue struct {
	path []string
	msg  string
	pos  []token.Pos
	// helper is set for errors raised in a schema helper (a let binding)
	// and moved onto the field they concern; base is that field's parent.
	helper bool
	base   []string
}

var disjunctionHeader = regexp.MustCompile(`^\d+ errors in empty disjunction:?$`)

// cueIssues flattens a CUE error into one rawIssue per message. prefix is a
// leading definition selector (e.g. "#Runbook") to strip from paths.
func cueIssues(err error, prefix string) []rawIssue {
	var out []rawIssue
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		path := e.Path()
		if len(path) > 0 && path[0] == prefix {
			path = path[1:]
		}
		out = append(out, rawIssue{path: path, msg: msg, pos: cueerrors.Positions(e)})
	}
	return out
}

// durationMsg repeats the message of #Duration in schemas/runbook.cue.
const durationMsg = `must be a duration such as "90s", "5m" or "1h30m"`

var (
	conflictRe = regexp.MustCompile(`^conflicting values (.+?) and (.+?)(?: \(mismatched types (\S+) and (\S+)\))?$`)
	boundRe    = regexp.MustCompile(`^invalid value (.+) \(out of bound (.+)\)$`)
	secretName = regexp.MustCompile(`(?i)^(.*[_-])?(token|password|passwd|secret|dsn|api_?key|private_key|credentials?)$`)
	typeNames  = map[string]bool{"int": true, "float": true, "number": true, "string": true, "bool": true, "bytes": true, "null": true, "struct": true, "list": true}
)

// tidy turns the messages CUE reports for one path into what was expected.
// Defaults are disjunctions in CUE, so a bad value also "conflicts" with the
// default; those echoes are dropped when a more specific message exists.
//
// lit is the data's literal at path, if any, to tell the offending value
// from the expected one in "conflicting values A and B".
func tidy(path []string, msgs []string, lit string, allowed func() []string) []string {
	var conflicts [][]string
	var others []string
	for _, m := range msgs {
		switch {
		case disjunctionHeader.MatchString(m):
		case conflictRe.MatchString(m):
			conflicts = append(conflicts, conflictRe.FindStringSubmatch(m))
		default:
			others = append(others, rewrite(path, m, allowed))
		}
	}
	if len(others) > 0 || len(conflicts) == 0 {
		return others
	}
	// The offending value is the data's literal, else the side every
	// conflict shares.
	got := ""
	for _, cand := range []string{lit, conflicts[0][1], conflicts[0][2]} {
		if cand == "" {
			continue
		}
		shared := true
		for _, c := range conflicts {
			if c[1] != cand && c[2] != cand {
				shared = false
				break
			}
		}
		if shared {
			got = cand
			break
		}
	}
	if got == "" {
		out := make([]string, len(conflicts))
		for i, c := range conflicts {
			out[i] = c[0]
		}
		return out
	}
	var want, types []string
	for _, c := range conflicts {
		alt := c[1]
		if alt == got {
			alt = c[2]
		}
		alt = describe(alt)
		if typeNames[alt] || strings.HasPrefix(alt, "a ") || strings.HasPrefix(alt, "an ") {
			types = append(types, alt)
		}
		if !slices.Contains(want, alt) {
			want = append(want, alt)
		}
	}
	if len(types) > 0 {
		// A type mismatch: the literal alternatives are only defaults.
		want = slices.Compact(types)
	}
	if len(want) == 1 {
		return []string{fmt.Sprintf("expected %s, got %s", want[0], got)}
	}
	return []string{fmt.Sprintf("expected one of %s, got %s", strings.Join(want, ", "), got)}
}

// describe shortens a schema expression CUE printed as the expected side of
// a conflict (a whole list or struct type) to its kind.
func describe(alt string) string {
	switch {
	case strings.HasPrefix(alt, "["):
		return "a list"
	case strings.HasPrefix(alt, "{"):
		return "an object"
	}
	return alt
}

func rewrite(path []string, m string, allowed func() []string) string {
	switch {
	case m == "field not allowed":
		name := ""
		if len(path) > 0 {
			name = path[len(path)-1]
		}
		names := allowed()
		if secretName.MatchString(name) {
			example := "bearer_token_env"
			if slices.Contains(names, name+"_env") {
				example = name + "_env"
			}
			return "field not allowed: secrets must be given by environment variable name (e.g. " + example + ")"
		}
		if len(names) > 0 {
			return "field not allowed; expected one of: " + strings.Join(names, ", ")
		}
		return "field not allowed"
	case m == "field is required but not present":
		return "required field is missing"
	case strings.Contains(m, "(ns|us|µs|ms|s|m|h)") || strings.Contains(m, "time.Duration"):
		// Fields that carry range checks use the bare duration validator.
		return durationMsg
	case boundRe.MatchString(m):
		sm := boundRe.FindStringSubmatch(m)
		return fmt.Sprintf("expected a value %s, got %s", sm[2], sm[1])
	}
	return m
}

// pathString renders a CUE path with list indices in brackets:
// environments.production.cohorts.new.instances[0].name.
func pathString(path []string) string {
	var b strings.Builder
	for _, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// quoteLabel spells a data key as CUE error paths do: quoted unless it is an
// identifier, so that a key such as "a.b" or "0" reads unambiguously.
func quoteLabel(l string) string {
	if identifier.MatchString(l) {
		return l
	}
	return strconv.Quote(l)
}

// label returns the name of a field label as CUE paths spell it.
func label(f *ast.Field) (string, bool) {
	switch l := f.Label.(type) {
	case *ast.Ident:
		return l.Name, true
	case *ast.BasicLit:
		if l.Kind != token.STRING {
			return l.Value, true
		}
		s, err := literal.Unquote(l.Value)
		return s, err == nil
	}
	return "", false
}

// unquotePath undoes CUE's quoting of labels that are not identifiers.
func unquotePath(p string) string {
	if strings.HasPrefix(p, `"`) {
		if s, err := literal.Unquote(p); err == nil {
			return s
		}
	}
	return p
}

// fieldsOf returns the fields and list elements directly inside a node of
// data (a parsed YAML, JSON or CUE value).
func fieldsOf(n ast.Node) (fields []*ast.Field, elems []ast.Expr, isList bool) {
	var decls []ast.Decl
	switch x := n.(type) {
	case *ast.File:
		decls = x.Decls
	case *ast.StructLit:
		decls = x.Elts
	case *ast.ListLit:
		return nil, x.Elts, true
	case *ast.ParenExpr:
		return fieldsOf(x.X)
	case *ast.Field:
		return fieldsOf(x.Value)
	default:
		return nil, nil, false
	}
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			fields = append(fields, d)
		case *ast.EmbedDecl:
			f, e, l := fieldsOf(d.Expr)
			fields = append(fields, f...)
			if l {
				elems, isList = e, true
			}
		}
	}
	return fields, elems, isList
}

// lookupNode finds the node at path in data: a *ast.Field for struct
// members, the element expression for list indices. It returns how many
// path elements it could follow, so a missing field is located at its parent.
func lookupNode(root ast.Node, path []string) (ast.Node, int) {
	n := root
	for i, p := range path {
		next := child(n, p)
		if next == nil {
			return n, i
		}
		n = next
	}
	return n, len(path)
}

func child(n ast.Node, p string) ast.Node {
	fields, elems, isList := fieldsOf(n)
	if isList {
		i, err := strconv.Atoi(p)
		if err != nil || i < 0 || i >= len(elems) {
			return nil
		}
		return elems[i]
	}
	name := unquotePath(p)
	for _, f := range fields {
		if l, ok := label(f); ok && l == name {
			return f
		}
	}
	return nil
}

// nodePos is where an issue about n is shown: the value of a field, since
// that is what is wrong, unless the field itself is the problem.
func nodePos(n ast.Node, atLabel bool) token.Pos {
	if f, ok := n.(*ast.Field); ok {
		if atLabel || f.Value == nil {
			return f.Label.Pos()
		}
		return f.Value.Pos()
	}
	if n == nil {
		return token.NoPos
	}
	return n.Pos()
}

// locate finds where in file an issue belongs: CUE's own position in the
// input when it has one, else the data at (or nearest above) the path.
func locate(file string, root ast.Node, r rawIssue) (int, int) {
	for _, p := range r.pos {
		if p.IsValid() && p.Filename() == file && p.Line() > 0 {
			return p.Line(), p.Column()
		}
	}
	if root != nil {
		n, depth := lookupNode(root, r.path)
		if depth == 0 {
			// The document itself: its start, not its first field.
			return 1, 1
		}
		missing := depth < len(r.path)
		if p := nodePos(n, missing || r.msg == "field not allowed"); p.IsValid() && p.Line() > 0 {
			return p.Line(), p.Column()
		}
	}
	return 1, 1
}

// schemaLookup finds the schema of the data at path: list indices and map
// keys the schema does not name become wildcards.
func schemaLookup(def cue.Value, path []string) cue.Value {
	v := def
	for _, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			v = v.LookupPath(cue.MakePath(cue.AnyIndex))
			continue
		}
		name := unquotePath(p)
		var next cue.Value
		// Optional and required fields are constraints, found only by
		// asking for them as such.
		for _, sel := range []cue.Selector{cue.Str(name), cue.Str(name).Optional(), cue.Str(name).Required(), cue.AnyString} {
			if next = v.LookupPath(cue.MakePath(sel)); next.Exists() {
				break
			}
		}
		v = next
		if !v.Exists() {
			return v
		}
	}
	return v
}

// schemaHas reports whether path names a field of the schema.
func schemaHas(def cue.Value, path []string) bool {
	return schemaLookup(def, path).Exists()
}

// allowedLabels lists the fields the schema allows at path, for messages
// about unknown fields. List indices and map keys become wildcards.
func allowedLabels(def cue.Value, path []string) []string {
	v := schemaLookup(def, path)
	if !v.Exists() {
		return nil
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var names []string
	for it.Next() {
		names = append(names, it.Selector().Unquoted())
	}
	slices.Sort(names)
	return names
}

var lineOnly = regexp.MustCompile(`^:(\d+)(?::(\d+))?: (.*)$`)

// syntaxIssues converts a parse error into issues located in file. The YAML
// parser reports "file:line: message" without a column; the column is then
// that of the line's first non-blank character.
func syntaxIssues(file string, data []byte, err error) []Issue {
	var out []Issue
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if strings.TrimSpace(msg) == "" {
			// Plain errors promoted by CUE carry their text only in Error.
			msg = e.Error()
		}
		line, col := 0, 0
		for _, p := range cueerrors.Positions(e) {
			if p.IsValid() && p.Line() > 0 {
				line, col = p.Line(), p.Column()
				break
			}
		}
		if line == 0 {
			if m := lineOnly.FindStringSubmatch(strings.TrimPrefix(msg, file)); m != nil {
				line, _ = strconv.Atoi(m[1])
				col, _ = strconv.Atoi(m[2])
				msg = m[3]
				if strings.HasPrefix(msg, "did not find expected") {
					// yaml.v3 reports parser (not scanner) errors at the
					// 0-based line of the construct being parsed.
					line++
				}
				if col == 0 {
					col = firstColumn(data, line)
				}
			}
		}
		if line == 0 {
			line, col = 1, 1
		}
		out = append(out, Issue{File: file, Line: line, Col: col, Msg: "syntax error: " + msg})
	}
	if len(out) == 0 {
		out = append(out, Issue{File: file, Line: 1, Col: 1, Msg: "syntax error: " + err.Error()})
	}
	return out
}

// firstColumn is the 1-based column of the first non-blank byte of line.
func firstColumn(data []byte, line int) int {
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return 1
	}
	return len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " \t")) + 1
}
