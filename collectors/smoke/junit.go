package smoke

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// JUnitParser streams JUnit XML as Playwright, pytest, go-junit-report, jest-junit and
// Maven Surefire write it: a testsuites root or a bare testsuite, possibly nested. It reads
// token by token (encoding/xml Decoder.Token) and keeps only the test cases, so memory
// follows the number of tests, not the size of the file.
//
// A test case with a failure or error element failed; otherwise one with a flakyFailure,
// flakyError, rerunFailure or rerunError element (Surefire, Playwright's includeRetries,
// pytest-rerunfailures) failed before it passed and is flaky; otherwise a skipped element
// makes it skipped. Summary attributes (tests, failures, ...) are ignored. The run started at
// the earliest testsuite timestamp and finished at the latest timestamp + time (or at the
// earliest start + the root's time, whichever is later); a suite with test cases but no
// timestamp leaves both unknown.
type JUnitParser struct {
	// Location is where zone-less timestamps (pytest, jest-junit, Surefire) were taken; nil is UTC.
	Location *time.Location
	// MaxDepth bounds element nesting; 0 means 64.
	MaxDepth int
	// MaxTokenBytes bounds one tag or text node (a huge system-out, say); 0 means 16 MiB.
	MaxTokenBytes int64
	// MaxMessage bounds each test's message; 0 means 2048 bytes.
	MaxMessage int
}

const defaultMaxToken = 16 << 20

// tokenGuard fails once more than max bytes are read for a single XML token. The loop resets
// n after every token, so the decoder never buffers more than about max bytes.
type tokenGuard struct {
	r   io.Reader
	n   int64
	max int64
}

var errTokenTooLarge = fmt.Errorf("XML tag or text node %w", ErrTooLarge)

func (g *tokenGuard) Read(p []byte) (int, error) {
	if g.n >= g.max {
		return 0, errTokenTooLarge
	}
	if rest := g.max - g.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}

type junitFrame struct {
	name     string
	start    time.Time
	hasStart bool
	dur      time.Duration
}

// junitCase is the test case being read; one is reused for every case.
type junitCase struct {
	active                 bool
	name                   string
	suite, class           uint32 // indexes into junitState.strs
	dur                    time.Duration
	failed, flaky, skipped bool
	failMsg, flakyMsg      string
	skipMsg, skipNote      string // skipNote: Playwright's <property name="skip" value="reason">
}

// junitRec is a finished test case, kept compact until the report ends: a []Test grown by
// append would allocate about five times its final size on the way.
type junitRec struct {
	name, msg    string
	dur          time.Duration
	suite, class uint32
	status       uint8
}

var recStatus = [...]Status{StatusPassed, StatusFailed, StatusSkipped, StatusFlaky}

const recChunk = 4096

type xmlName struct{ space, local string }

type junitState struct {
	p          *JUnitParser
	maxMsg     int
	stack      []xmlName
	suites     []junitFrame
	rootName   string
	rootTime   time.Duration
	rootDone   bool
	cur        junitCase
	result     string // the result element being read: failure, error, skipped, flaky*, rerun*
	resultAt   int    // its depth
	resultMsg  string
	text       []byte
	scratch    []byte
	recs       [][]junitRec
	nrecs      int
	strs       []string          // interned suite and class names; index 0 is ""
	strIdx     map[string]uint32 // their indexes
	out        Suite
	start, end time.Time
	hasStart   bool
	timeless   bool
}

// Parse reads one JUnit XML report.
func (p *JUnitParser) Parse(r io.Reader) (*Suite, error) {
	maxTok := p.MaxTokenBytes
	if maxTok <= 0 {
		maxTok = defaultMaxToken
	}
	guard := &tokenGuard{r: r, max: maxTok}
	dec := xml.NewDecoder(guard)
	dec.CharsetReader = charsetReader
	st := &junitState{p: p, maxMsg: p.MaxMessage, strs: []string{""}, strIdx: map[string]uint32{"": 0}}
	if st.maxMsg <= 0 {
		st.maxMsg = defaultMaxMessage
	}
	seenRoot := false
	for {
		guard.n = 0
		tok, err := dec.Token()
		if err == io.EOF {
			if len(st.stack) > 0 {
				line, _ := dec.InputPos()
				return nil, fmt.Errorf("junit: malformed XML on line %d: unexpected EOF", line)
			}
			break
		}
		if err != nil {
			line, col := dec.InputPos()
			var se *xml.SyntaxError
			switch {
			case errors.As(err, &se):
				return nil, fmt.Errorf("junit: malformed XML on line %d: %s", se.Line, se.Msg)
			case errors.Is(err, errTokenTooLarge):
				return nil, fmt.Errorf("junit: line %d col %d: XML tag or text node longer than %d bytes: %w", line, col, maxTok, ErrTooLarge)
			}
			return nil, fmt.Errorf("junit: line %d: %w", line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			seenRoot = true
			if err := st.startElement(t); err != nil {
				line, _ := dec.InputPos()
				return nil, fmt.Errorf("junit: line %d: %w", line, err)
			}
		case xml.EndElement:
			if err := st.endElement(t); err != nil {
				line, _ := dec.InputPos()
				return nil, fmt.Errorf("junit: malformed XML on line %d: %w", line, err)
			}
		case xml.CharData:
			if len(st.stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				line, _ := dec.InputPos()
				return nil, fmt.Errorf("junit: line %d: not a JUnit report: text outside any element", line)
			}
			st.charData(t)
		}
	}
	if !seenRoot {
		return nil, errors.New("junit: empty report: no testsuites or testsuite element")
	}
	out := st.out
	out.Tests = st.tests()
	if st.hasStart && !st.timeless {
		out.Started, out.Finished = st.start, st.end
		if st.rootTime > 0 && st.start.Add(st.rootTime).After(out.Finished) {
			out.Finished = st.start.Add(st.rootTime)
		}
	}
	return &out, nil
}

// tests materializes the records, sharing one Attrs map per distinct classname.
func (st *junitState) tests() []Test {
	out := make([]Test, 0, st.nrecs)
	attrs := make([]map[string]any, len(st.strs))
	for i, chunk := range st.recs {
		for _, r := range chunk {
			t := Test{Name: r.name, Suite: st.strs[r.suite], Status: recStatus[r.status], Duration: r.dur, Message: r.msg}
			if r.class != 0 {
				if attrs[r.class] == nil {
					attrs[r.class] = map[string]any{"classname": st.strs[r.class]}
				}
				t.Attrs = attrs[r.class]
			}
			out = append(out, t)
		}
		st.recs[i] = nil
	}
	return out
}

func (st *junitState) intern(s string) uint32 {
	if i, ok := st.strIdx[s]; ok {
		return i
	}
	i := uint32(len(st.strs))
	st.strs = append(st.strs, s)
	st.strIdx[s] = i
	return i
}

func attr(e xml.StartElement, name string) (string, bool) {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func isResult(local string) bool {
	switch local {
	case "failure", "error", "skipped", "flakyFailure", "flakyError", "rerunFailure", "rerunError":
		return true
	}
	return false
}

func (st *junitState) startElement(e xml.StartElement) error {
	maxDepth := st.p.MaxDepth
	if maxDepth <= 0 {
		maxDepth = defaultMaxDepth
	}
	if len(st.stack) >= maxDepth {
		return fmt.Errorf("elements nested deeper than %d", maxDepth)
	}
	local := e.Name.Local
	if len(st.stack) == 0 {
		if st.rootDone {
			return fmt.Errorf("second root element <%s> after the report", local)
		}
		if local != "testsuites" && local != "testsuite" {
			return fmt.Errorf("not a JUnit report: root element is <%s>, expected <testsuites> or <testsuite>", local)
		}
	}
	st.stack = append(st.stack, xmlName{e.Name.Space, local})
	depth := len(st.stack)
	switch {
	case st.cur.active:
		if local == "testcase" || local == "testsuite" || local == "testsuites" {
			return fmt.Errorf("<%s> inside <testcase>", local)
		}
		if st.result == "" && isResult(local) && depth == st.resultAt {
			st.result = local
			st.resultMsg, _ = attr(e, "message")
			st.text = st.text[:0]
		}
		if local == "property" && st.cur.skipNote == "" {
			if n, _ := attr(e, "name"); n == "skip" || n == "fixme" {
				st.cur.skipNote, _ = attr(e, "value")
			}
		}
	case local == "testsuites":
		if depth == 1 {
			st.rootName, _ = attr(e, "name")
			if v, ok := attr(e, "time"); ok {
				st.rootTime = seconds(v)
			}
		}
	case local == "testsuite":
		f := junitFrame{}
		f.name, _ = attr(e, "name")
		if n := len(st.suites); n > 0 {
			f.start, f.hasStart = st.suites[n-1].start, st.suites[n-1].hasStart
		}
		if v, ok := attr(e, "timestamp"); ok {
			if t, ok := st.p.parseTime(v); ok {
				f.start, f.hasStart = t, true
			}
		}
		if v, ok := attr(e, "time"); ok {
			f.dur = seconds(v)
		}
		if f.hasStart {
			if !st.hasStart || f.start.Before(st.start) {
				st.start = f.start
			}
			if end := f.start.Add(f.dur); !st.hasStart || end.After(st.end) {
				st.end = end
			}
			st.hasStart = true
		}
		st.suites = append(st.suites, f)
	case local == "testcase":
		name, _ := attr(e, "name")
		cls, _ := attr(e, "classname")
		suite := st.rootName
		if n := len(st.suites); n > 0 {
			suite = st.suites[n-1].name
			if !st.suites[n-1].hasStart {
				st.timeless = true
			}
		} else {
			st.timeless = true
		}
		st.cur = junitCase{active: true, name: clean(name, 4*st.maxMsg), suite: st.intern(clean(suite, 4*st.maxMsg))}
		if v, ok := attr(e, "time"); ok {
			st.cur.dur = seconds(v)
		}
		if cls != "" && cls != suite && cls != name {
			st.cur.class = st.intern(clean(cls, 4*st.maxMsg))
		}
		st.resultAt = depth + 1
	}
	return nil
}

func (st *junitState) charData(b xml.CharData) {
	if st.result == "" {
		return
	}
	depth := len(st.stack)
	// Text of the result element itself, or of its stackTrace (Surefire, Playwright retries).
	if depth != st.resultAt && (depth != st.resultAt+1 || st.stack[depth-1].local != "stackTrace") {
		return
	}
	if room := 4*st.maxMsg - len(st.text); room > 0 {
		if len(b) > room {
			b = b[:room]
		}
		st.text = append(st.text, b...)
	}
}

func (st *junitState) endElement(e xml.EndElement) error {
	depth := len(st.stack)
	if depth == 0 {
		return fmt.Errorf("unexpected end element </%s>", e.Name.Local)
	}
	top := st.stack[depth-1]
	if top.local != e.Name.Local || top.space != e.Name.Space {
		return fmt.Errorf("element <%s> closed by </%s>", top.local, e.Name.Local)
	}
	st.stack = st.stack[:depth-1]
	if depth == 1 {
		st.rootDone = true
	}
	local := e.Name.Local
	switch {
	case st.result != "" && depth == st.resultAt && local == st.result:
		st.endResult()
	case st.cur.active && local == "testcase" && depth == st.resultAt-1:
		st.endCase()
	case !st.cur.active && local == "testsuite":
		if n := len(st.suites); n > 0 {
			st.suites = st.suites[:n-1]
		}
	}
	return nil
}

// message joins a result's message attribute and its text, once, bounded.
func (st *junitState) message(prefix string) string {
	text := bytes.TrimSpace(st.text)
	b := append(st.scratch[:0], prefix...)
	b = append(b, st.resultMsg...)
	if len(text) > 0 && !strings.Contains(st.resultMsg, string(text)) {
		if st.resultMsg != "" {
			b = append(b, '\n')
		}
		b = append(b, text...)
	}
	st.scratch = b
	if len(b) > 4*st.maxMsg {
		b = b[:4*st.maxMsg]
	}
	return clean(string(b), st.maxMsg)
}

func (st *junitState) endResult() {
	c := &st.cur
	switch st.result {
	case "failure":
		if !c.failed {
			c.failed, c.failMsg = true, st.message("")
		}
	case "error":
		if !c.failed {
			c.failed, c.failMsg = true, st.message("error: ")
		}
	case "skipped":
		if !c.skipped {
			c.skipped, c.skipMsg = true, st.message("")
		}
	default: // flaky* and rerun*
		if !c.flaky {
			c.flaky, c.flakyMsg = true, st.message("passed on rerun after: ")
		}
	}
	st.result = ""
	st.text = st.text[:0]
}

func (st *junitState) endCase() {
	c := &st.cur
	r := junitRec{name: c.name, suite: c.suite, class: c.class, dur: c.dur}
	switch {
	case c.failed:
		r.status, r.msg = 1, c.failMsg
	case c.flaky:
		r.status, r.msg = 3, c.flakyMsg
	case c.skipped:
		r.status, r.msg = 2, c.skipMsg
		if r.msg == "" {
			r.msg = clean(c.skipNote, st.maxMsg)
		}
	}
	if n := len(st.recs); n == 0 || len(st.recs[n-1]) == recChunk {
		st.recs = append(st.recs, make([]junitRec, 0, recChunk))
	}
	last := &st.recs[len(st.recs)-1]
	*last = append(*last, r)
	st.nrecs++
	st.cur = junitCase{}
}

// parseTime reads a testsuite timestamp: RFC 3339 with a zone, or zone-less local time.
func (p *JUnitParser) parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02T15:04:05Z0700", s); err == nil {
		return t, true
	}
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// charsetReader lets reports declare the encodings tools actually use besides UTF-8.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return &latin1Reader{r: bufio.NewReader(in)}, nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q (expected UTF-8 or ISO-8859-1)", label)
}

// latin1Reader decodes ISO-8859-1 to UTF-8.
type latin1Reader struct {
	r   io.ByteReader
	buf []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.buf) > 0 {
			c := copy(p[n:], l.buf)
			l.buf = l.buf[c:]
			n += c
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < utf8.RuneSelf {
			p[n] = b
			n++
			continue
		}
		l.buf = utf8.AppendRune(l.buf[:0], rune(b))
	}
	return n, nil
}
