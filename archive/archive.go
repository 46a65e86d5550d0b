package archive

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FormatVersion is the archive format this package writes and reads.
const FormatVersion = 1

// File names inside an archive directory.
const (
	MetaFile    = "archive.json"
	RecordsFile = "records.jsonl"
	ObjectsDir  = "objects/sha256"
	LockFile    = "lock"
)

// maxLine bounds one record line, so a corrupt file cannot make Walk buffer without limit.
const maxLine = 64 << 20

// Meta is the content of archive.json.
type Meta struct {
	Format      int    `json:"format"`
	LaunchID    string `json:"launch_id"`
	Environment string `json:"environment"`
	CreatedAt   string `json:"created_at"`
}

// Entry is one archived record: DESIGN.md's decision record plus the archive's references,
// or, when Event is set, an event of the launch (Kind "event") chained the same way.
type Entry struct {
	engine.Record
	RunbookSource string     `json:"runbook_source"`
	Kind          string     `json:"kind,omitempty"`
	Event         *Event     `json:"event,omitempty"`
	Digest        string     `json:"digest,omitempty"`
	Signature     *Signature `json:"signature,omitempty"`
}

// KindEvent marks an entry that is an event of the launch rather than a decision.
const KindEvent = "event"

// Event types a launch appends between its decisions.
const (
	EventAttestation  = "attestation"  // a manual check or the commander's call (attest)
	EventNotification = "notification" // one channel's delivery of one notification
	EventHook         = "hook"         // one run of a runbook hook
	EventOutcome      = "outcome"      // how the launch ended
	EventInterrupted  = "interrupted"  // the launch or watch was stopped by a signal
)

// Event is something that happened during a launch that is not a decision but that later
// decisions, the report and auditors rely on: it is chained, signed and verified like one.
type Event struct {
	Type string         `json:"type"`
	At   string         `json:"at"` // RFC 3339
	Data map[string]any `json:"data"`
}

// eventLine is an event entry as written: the launch it belongs to, the event, the chain.
type eventLine struct {
	Kind        string     `json:"kind"`
	LaunchID    string     `json:"launch_id"`
	Environment string     `json:"environment"`
	Event       *Event     `json:"event"`
	Prev        string     `json:"prev,omitempty"`
	Digest      string     `json:"digest,omitempty"`
	Signature   *Signature `json:"signature,omitempty"`
}

// Blobs are the contents a record references, stored by digest before the record is appended.
type Blobs struct {
	Input             []byte            // canonical JSON of the policy input
	RunbookSource     []byte            // the runbook file as read
	RunbookNormalized []byte            // canonical JSON of the normalized runbook
	Policies          map[string]string // the whole policy module set, name → source
}

// VerifyError is an archive that failed verification; Record is 1-based, 0 for the archive itself.
type VerifyError struct {
	Dir    string
	Record int
	Msg    string
}

func (e *VerifyError) Error() string {
	if e.Record == 0 {
		return fmt.Sprintf("archive %s: %s", e.Dir, e.Msg)
	}
	return fmt.Sprintf("archive %s: record %d: %s", e.Dir, e.Record, e.Msg)
}

// Archive is an open archive directory.
type Archive struct {
	dir    string
	meta   Meta
	signer ed25519.PrivateKey
	policy SigPolicy
}

// SignWith makes Append sign every record it appends with priv.
func (a *Archive) SignWith(priv ed25519.PrivateKey) { a.signer = priv }

// RequireSignatures sets what Walk demands of signatures beyond verifying those present.
func (a *Archive) RequireSignatures(p SigPolicy) { a.policy = p }

// Dir returns the archive's directory.
func (a *Archive) Dir() string { return a.dir }

// Meta returns the archive's archive.json.
func (a *Archive) Meta() Meta { return a.meta }

// Open opens an existing archive, checking archive.json and its format version.
func Open(dir string) (*Archive, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &VerifyError{Dir: dir, Msg: "no " + MetaFile + ": not an archive (or it was removed)"}
		}
		return nil, fmt.Errorf("archive %s: %w", dir, err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &VerifyError{Dir: dir, Msg: fmt.Sprintf("%s: invalid JSON: %v", MetaFile, err)}
	}
	if m.Format != FormatVersion {
		return nil, &VerifyError{Dir: dir, Msg: fmt.Sprintf("%s: unknown format version %d (this gatekeeper reads version %d)", MetaFile, m.Format, FormatVersion)}
	}
	if m.LaunchID == "" || m.Environment == "" {
		return nil, &VerifyError{Dir: dir, Msg: MetaFile + ": launch_id and environment are required"}
	}
	return &Archive{dir: dir, meta: m}, nil
}

// OpenOrCreate opens the archive of a launch, creating the directory and archive.json the
// first time; an existing archive of another launch or environment is refused.
func OpenOrCreate(dir, launchID, environment string) (*Archive, error) {
	if err := os.MkdirAll(filepath.Join(dir, ObjectsDir), 0o755); err != nil {
		return nil, fmt.Errorf("archive %s: %w", dir, err)
	}
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, MetaFile)); errors.Is(err, fs.ErrNotExist) {
		m := Meta{Format: FormatVersion, LaunchID: launchID, Environment: environment, CreatedAt: time.Now().UTC().Format(time.RFC3339)}
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("archive %s: %w", dir, err)
		}
		if err := writeAtomic(dir, MetaFile, append(b, '\n')); err != nil {
			return nil, err
		}
	}
	a, err := Open(dir)
	if err != nil {
		return nil, err
	}
	if a.meta.LaunchID != launchID || a.meta.Environment != environment {
		return nil, fmt.Errorf("archive %s: holds launch %q in %q, not %q in %q", dir, a.meta.LaunchID, a.meta.Environment, launchID, environment)
	}
	return a, nil
}

// lock takes the archive's exclusive flock and returns its release.
func lock(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("archive %s: lock: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("archive %s: lock: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// writeAtomic writes name in dir through a temporary file: write, fsync, rename, fsync dir.
func writeAtomic(dir, name string, data []byte) error {
	full := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(filepath.Dir(full), ".tmp-*")
	if err != nil {
		return fmt.Errorf("archive: write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("archive: write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("archive: write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("archive: write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), full); err != nil {
		return fmt.Errorf("archive: write %s: %w", name, err)
	}
	return syncDir(filepath.Dir(full))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("archive: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("archive: sync %s: %w", dir, err)
	}
	return nil
}

// hexOf returns the hex part of a "sha256:" digest, or "" when it is not one.
func hexOf(digest string) string {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(h) != 64 {
		return ""
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return h
}

// PutBlob stores data under its digest unless already there, and returns the digest.
func (a *Archive) PutBlob(data []byte) (string, error) {
	d := engine.DigestBytes(data)
	name := filepath.Join(ObjectsDir, hexOf(d))
	if _, err := os.Stat(filepath.Join(a.dir, name)); err == nil {
		return d, nil
	}
	return d, writeAtomic(a.dir, name, data)
}

// Blob reads the blob with the given digest, checking that its content has that digest.
func (a *Archive) Blob(digest string) ([]byte, error) {
	h := hexOf(digest)
	if h == "" {
		return nil, fmt.Errorf("blob %q: not a sha256 digest", digest)
	}
	b, err := os.ReadFile(filepath.Join(a.dir, ObjectsDir, h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("blob %s is missing (%s)", digest, filepath.Join(ObjectsDir, h))
		}
		return nil, fmt.Errorf("blob %s: %w", digest, err)
	}
	if got := engine.DigestBytes(b); got != digest {
		return nil, fmt.Errorf("blob %s: digest mismatch: its content has digest %s (tampered or corrupt)", digest, got)
	}
	return b, nil
}

// Append stores the blobs, then, under the archive's lock, calls decide with the digest of
// the last record (empty for the first) and appends the record it returns, chained to it.
// The record's input, runbook and policies digests must be those of the blobs. Nothing
// already archived is altered, whatever fails.
func (a *Archive) Append(b Blobs, decide func(prev string) (*engine.Record, error)) (*Entry, error) {
	polJSON, err := engine.Canonical(stringMap(b.Policies))
	if err != nil {
		return nil, fmt.Errorf("archive: policies: %w", err)
	}
	var digests [4]string
	for i, data := range [][]byte{b.Input, b.RunbookSource, b.RunbookNormalized, polJSON} {
		if digests[i], err = a.PutBlob(data); err != nil {
			return nil, err
		}
	}
	var e *Entry
	err = a.appendLine("record", func(prev string) ([]byte, error) {
		rec, err := decide(prev)
		if err != nil {
			return nil, err
		}
		switch {
		case rec.Prev != prev:
			return nil, fmt.Errorf("archive: record prev %q is not the last record's digest %q", rec.Prev, prev)
		case rec.InputDigest != digests[0]:
			return nil, fmt.Errorf("archive: record input_digest %s is not the stored input's %s", rec.InputDigest, digests[0])
		case rec.RunbookDigest != digests[2]:
			return nil, fmt.Errorf("archive: record runbook_digest %s is not the stored runbook's %s", rec.RunbookDigest, digests[2])
		case rec.PoliciesDigest != digests[3]:
			return nil, fmt.Errorf("archive: record policies_digest %s is not the stored policies' %s", rec.PoliciesDigest, digests[3])
		case rec.LaunchID != a.meta.LaunchID || rec.Environment != a.meta.Environment:
			return nil, fmt.Errorf("archive: record of launch %q in %q does not belong in archive of %q in %q", rec.LaunchID, rec.Environment, a.meta.LaunchID, a.meta.Environment)
		}
		e = &Entry{Record: *rec, RunbookSource: digests[1]}
		return e.seal(a.signer)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// appendLine appends one line under the archive's lock: line gets the digest of the last
// line ("" for the first) and returns the new one (without newline), which is written with one
// write and fsynced; the directory is fsynced too when the file was new. what names the line
// in errors ("record", "event").
func (a *Archive) appendLine(what string, line func(prev string) ([]byte, error)) error {
	unlock, err := lock(a.dir)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := os.OpenFile(filepath.Join(a.dir, RecordsFile), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	prev, first, err := lastLine(f)
	if err != nil {
		return fmt.Errorf("archive %s: %w", a.dir, err)
	}
	b, err := line(prev)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("archive: %s %d: write: %w", what, ordinal(f), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("archive: %s %d: fsync: %w", what, ordinal(f), err)
	}
	if first {
		return syncDir(a.dir)
	}
	return nil
}

// AppendEvent appends ev to the launch's chain under the archive's lock, signed when the
// archive signs, and fsynced: an event is evidence like a decision and is verified the same way.
func (a *Archive) AppendEvent(ev Event) (*Entry, error) {
	if strings.TrimSpace(ev.Type) == "" {
		return nil, fmt.Errorf("archive: event without a type")
	}
	if _, err := time.Parse(time.RFC3339, ev.At); err != nil {
		return nil, fmt.Errorf("archive: event %s: at %q: want an RFC 3339 time", ev.Type, ev.At)
	}
	if ev.Data == nil {
		ev.Data = map[string]any{}
	}
	var l *eventLine
	err := a.appendLine("event", func(prev string) ([]byte, error) {
		l = &eventLine{Kind: KindEvent, LaunchID: a.meta.LaunchID, Environment: a.meta.Environment, Event: &ev, Prev: prev}
		m, err := generic(l)
		if err != nil {
			return nil, fmt.Errorf("archive: event: %w", err)
		}
		if l.Digest, err = engine.Digest(m); err != nil {
			return nil, fmt.Errorf("archive: event: %w", err)
		}
		m["digest"] = l.Digest
		if a.signer != nil {
			l.Signature = sign(a.signer, l.Digest)
			if m["signature"], err = generic(l.Signature); err != nil {
				return nil, err
			}
		}
		return engine.Canonical(m)
	})
	if err != nil {
		return nil, err
	}
	e := &Entry{Kind: KindEvent, Event: &ev, Digest: l.Digest, Signature: l.Signature}
	e.LaunchID, e.Environment, e.Prev = l.LaunchID, l.Environment, l.Prev
	return e, nil
}

// Events verifies the whole archive and returns its event entries in order.
func (a *Archive) Events() ([]Entry, error) {
	var out []Entry
	err := a.WalkAll(func(_ int, e *Entry, _ []byte) error {
		if e.Event != nil {
			out = append(out, *e)
		}
		return nil
	})
	return out, err
}

// seal sets the entry's own digest (over its canonical JSON without digest and signature),
// signs that digest when priv is set, and returns the canonical JSON line (without newline).
func (e *Entry) seal(priv ed25519.PrivateKey) ([]byte, error) {
	e.Digest, e.Signature = "", nil
	m, err := generic(e)
	if err != nil {
		return nil, err
	}
	if e.Digest, err = engine.Digest(m); err != nil {
		return nil, err
	}
	m["digest"] = e.Digest
	if priv != nil {
		e.Signature = sign(priv, e.Digest)
		if m["signature"], err = generic(e.Signature); err != nil {
			return nil, err
		}
	}
	return engine.Canonical(m)
}

func generic(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	return m, d.Decode(&m)
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// lastLine returns the digest of the last line of the records file, and whether the file is
// empty, refusing a file whose last line is torn. It reads the file from its end, in chunks,
// until the last line is whole: an append costs the same however long the archive is.
func lastLine(f *os.File) (string, bool, error) {
	st, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	size := st.Size()
	if size == 0 {
		return "", true, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return "", false, err
	}
	if last[0] != '\n' {
		return "", false, fmt.Errorf("record %d: torn write (no newline): the archive was interrupted; nothing was dropped — repair it before appending", ordinal(f))
	}
	end := size - 1
	var buf []byte
	for off := end; ; {
		step := int64(64 << 10)
		if off < step {
			step = off
		}
		off -= step
		chunk := make([]byte, step)
		if _, err := f.ReadAt(chunk, off); err != nil {
			return "", false, err
		}
		buf = append(chunk, buf...)
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return engine.DigestBytes(buf[i+1:]), false, nil
		}
		if off == 0 {
			return engine.DigestBytes(buf), false, nil
		}
	}
}

// ordinal is the 1-based number the next record would have (or a torn last one has): only
// error messages need it, so the whole file is counted only when something failed.
func ordinal(f *os.File) int {
	n, err := countLines(f)
	if err != nil {
		return 0
	}
	return n + 1
}

func countLines(f *os.File) (int, error) {
	r := io.NewSectionReader(f, 0, 1<<62)
	buf := make([]byte, 256<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// Walk verifies the archive while streaming its records, calling fn for each verified record
// (n is 1-based) with the record's verified input blob, in record order, on the calling
// goroutine. A verification failure is a *VerifyError naming the record; an error from fn
// stops the walk and is returned as is. Memory is bounded by the longest record times the
// (small, fixed) number of records in flight. The per-record verification runs in
// runtime.NumCPU workers; see WalkEach.
//
// Walk yields decisions only (every entry is still verified); WalkAll yields events too.
func (a *Archive) Walk(fn func(n int, e *Entry, input []byte) error) error {
	return WalkEach(a, runtime.NumCPU(), nil, func(n int, e *Entry, input []byte, _ struct{}) error {
		if fn == nil {
			return nil
		}
		return fn(n, e, input)
	})
}

// WalkAll is Walk over every entry: decisions with their input, events (Event set) with nil.
func (a *Archive) WalkAll(fn func(n int, e *Entry, input []byte) error) error {
	return walkEach(a, runtime.NumCPU(), true, nil, func(n int, e *Entry, input []byte, _ struct{}) error {
		if fn == nil {
			return nil
		}
		return fn(n, e, input)
	})
}

// walkJob is one record on its way through WalkEach's workers.
type walkJob[T any] struct {
	n     int
	line  []byte
	prev  string // digest of the previous line, "" for the first
	e     *Entry
	input []byte
	v     T
	err   error
	done  chan struct{}
}

// WalkEach is Walk with the per-record work in parallel: one goroutine streams the lines
// and digests each (the chain needs only that), workers goroutines verify the records (JSON,
// own digest, signature, chain link, blobs, reading and hashing the input) and then call
// work, when not nil, with the verified record and input; emit is called in record order on
// the calling goroutine with work's result. The first failure in record order ends the walk:
// a verification failure as a *VerifyError naming the record, an error from work or emit as
// is. At most about 5×workers records are in flight, so memory stays bounded. Events are
// verified but neither worked on nor emitted.
func WalkEach[T any](a *Archive, workers int, work func(n int, e *Entry, input []byte) (T, error), emit func(n int, e *Entry, input []byte, v T) error) error {
	return walkEach(a, workers, false, work, emit)
}

func walkEach[T any](a *Archive, workers int, events bool, work func(n int, e *Entry, input []byte) (T, error), emit func(n int, e *Entry, input []byte, v T) error) error {
	f, err := os.Open(filepath.Join(a.dir, RecordsFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // an archive with no record yet
		}
		return fmt.Errorf("archive %s: %w", a.dir, err)
	}
	defer f.Close()
	if workers < 1 {
		workers = 1
	}
	jobs := make(chan *walkJob[T], 2*workers)
	order := make(chan *walkJob[T], 4*workers)
	stop := make(chan struct{})
	vb := &verifiedBlobs{m: map[string]bool{}}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.e, j.input, j.err = a.verifyLine(j.n, j.line, j.prev, vb)
				j.line = nil
				if j.err == nil && work != nil && j.e.Event == nil {
					j.v, j.err = work(j.n, j.e, j.input)
				}
				close(j.done)
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		r := bufio.NewReaderSize(f, 1<<20)
		prev := ""
		for n := 1; ; n++ {
			line, err := readLine(r)
			if err == io.EOF && len(line) == 0 {
				return
			}
			j := &walkJob[T]{n: n, line: line, prev: prev, done: make(chan struct{})}
			switch {
			case err == io.EOF:
				j.err = &VerifyError{Dir: a.dir, Record: n, Msg: "torn write (no newline): the archive was interrupted; nothing was dropped"}
			case err != nil:
				j.err = &VerifyError{Dir: a.dir, Record: n, Msg: err.Error()}
			}
			if j.err != nil {
				close(j.done)
				select {
				case order <- j:
				case <-stop:
				}
				return
			}
			prev = engine.DigestBytes(line)
			select {
			case order <- j:
			case <-stop:
				return
			}
			select {
			case jobs <- j:
			case <-stop:
				close(j.done) // never reaches a worker; the emitter is only draining
				return
			}
		}
	}()
	var first error
	signed := false
	for j := range order {
		<-j.done
		if first != nil {
			continue
		}
		// Signing cannot be switched off within a launch: an unsigned decision after a signed
		// one is a stripped signature (only the last line's can be stripped without breaking
		// the chain, since each prev covers the whole previous line, signature included).
		if j.err == nil && j.e.Event == nil {
			switch {
			case j.e.Signature != nil:
				signed = true
			case signed:
				j.err = &VerifyError{Dir: a.dir, Record: j.n, Msg: "not signed, but an earlier decision of this launch is: signing cannot be switched off mid-launch (signature stripped?)"}
			}
		}
		if j.err == nil && (j.e.Event == nil || events) {
			j.err = emit(j.n, j.e, j.input, j.v)
		}
		j.e, j.input = nil, nil
		if j.err != nil {
			first = j.err
			close(stop)
		}
	}
	wg.Wait()
	return first
}

// verifiedBlobs remembers the shared blobs (runbook, policies) already verified.
type verifiedBlobs struct {
	mu sync.Mutex
	m  map[string]bool
}

func (v *verifiedBlobs) has(d string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[d]
}

func (v *verifiedBlobs) add(d string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[d] = true
}

// verifyLine verifies record n's line: its JSON, its own digest, its signature, its link to
// the previous line (whose digest is prev), its launch, and its blobs; it returns the record
// and its verified input blob.
func (a *Archive) verifyLine(n int, line []byte, prev string, vb *verifiedBlobs) (*Entry, []byte, error) {
	fail := func(format string, args ...any) error {
		return &VerifyError{Dir: a.dir, Record: n, Msg: fmt.Sprintf(format, args...)}
	}
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || d.More() {
		return nil, nil, fail("not valid JSON (corrupt or tampered): %v", err)
	}
	own, _ := m["digest"].(string)
	delete(m, "digest")
	delete(m, "signature")
	got, err := engine.Digest(m)
	if err != nil {
		return nil, nil, fail("%v", err)
	}
	if own == "" || got != own {
		return nil, nil, fail("content does not match its digest %q (computed %s): the record was changed", own, got)
	}
	var e Entry
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, nil, fail("not a decision record: %v", err)
	}
	if err := checkSignature(e.Signature, own, a.policy); err != nil {
		return nil, nil, fail("%v", err)
	}
	if e.Prev != prev {
		if prev == "" {
			return nil, nil, fail("chain break: the first record has prev %s (records removed before it?)", e.Prev)
		}
		return nil, nil, fail("chain break: prev %q does not match the previous record's digest %s (record removed, reordered or changed)", e.Prev, prev)
	}
	if e.LaunchID != a.meta.LaunchID || e.Environment != a.meta.Environment {
		return nil, nil, fail("launch %q in %q does not belong in this archive of %q in %q", e.LaunchID, e.Environment, a.meta.LaunchID, a.meta.Environment)
	}
	switch {
	case e.Kind == KindEvent && (e.Event == nil || e.Event.Type == ""):
		return nil, nil, fail("event entry without an event type")
	case e.Kind == KindEvent:
		return &e, nil, nil
	case e.Kind != "" || e.Event != nil:
		return nil, nil, fail("unknown entry kind %q (this gatekeeper reads decisions and events)", e.Kind)
	}
	// The input is different for nearly every record: it is read and checked each time,
	// and only the shared blobs are remembered once verified.
	input, err := a.Blob(e.InputDigest)
	if err != nil {
		return nil, nil, fail("input_digest: %v", err)
	}
	for _, ref := range []struct{ name, d string }{{"runbook_digest", e.RunbookDigest}, {"runbook_source", e.RunbookSource}, {"policies_digest", e.PoliciesDigest}} {
		if vb.has(ref.d) {
			continue
		}
		if _, err := a.Blob(ref.d); err != nil {
			return nil, nil, fail("%s: %v", ref.name, err)
		}
		vb.add(ref.d)
	}
	return &e, input, nil
}

// readLine reads one line without its newline; io.EOF with a non-empty line means the last
// line has no newline.
func readLine(r *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes (corrupt)", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return out, err
		}
		return out[:len(out)-1], nil
	}
}

// Verify opens and verifies the archive in dir and returns its number of records.
func Verify(dir string) (int, error) {
	a, err := Open(dir)
	if err != nil {
		return 0, err
	}
	count := 0
	err = a.Walk(func(n int, _ *Entry, _ []byte) error { count = n; return nil })
	return count, err
}
