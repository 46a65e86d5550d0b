package archive

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Bulk writes a new archive in one go, without per-record fsync or locking: for generators
// of synthetic archives (benchmarks), never for a live launch. The format is Append's.
type Bulk struct {
	a    *Archive
	f    *os.File
	w    *bufio.Writer
	prev string
}

// CreateBulk creates the archive in dir, which must not hold records yet.
func CreateBulk(dir, launchID, environment string) (*Bulk, error) {
	a, err := OpenOrCreate(dir, launchID, environment)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, RecordsFile)
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bulk archive %s: %s already exists", dir, RecordsFile)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("bulk archive %s: %w", dir, err)
	}
	return &Bulk{a: a, f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// PutBlob stores data under its digest (unsynced) unless already there, and returns the digest.
func (b *Bulk) PutBlob(data []byte) (string, error) {
	d := engine.DigestBytes(data)
	p := filepath.Join(b.a.dir, ObjectsDir, hexOf(d))
	if _, err := os.Stat(p); err == nil {
		return d, nil
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return "", fmt.Errorf("bulk archive: blob: %w", err)
	}
	return d, nil
}

// Prev is the digest of the last record added (empty before the first).
func (b *Bulk) Prev() string { return b.prev }

// Add chains rec to the previous record, seals it and appends its line.
func (b *Bulk) Add(rec *engine.Record, runbookSource string) error {
	rec.Prev = b.prev
	e := &Entry{Record: *rec, RunbookSource: runbookSource}
	line, err := e.seal(b.a.signer)
	if err != nil {
		return fmt.Errorf("bulk archive: %w", err)
	}
	b.prev = engine.DigestBytes(line)
	if _, err := b.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("bulk archive: %w", err)
	}
	return nil
}

// Close flushes and syncs the records file once.
func (b *Bulk) Close() error {
	if err := b.w.Flush(); err != nil {
		b.f.Close()
		return fmt.Errorf("bulk archive: %w", err)
	}
	if err := b.f.Sync(); err != nil {
		b.f.Close()
		return fmt.Errorf("bulk archive: %w", err)
	}
	return b.f.Close()
}
