package terminal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/possim/possim/internal/diagnose"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The journal keeps a terminal's state on disk: the STAN counter, every
// transaction with its outcome, and the store-and-forward queue of
// reversals.
//
// Why bbolt (go.etcd.io/bbolt): it is embedded (no server for a POS to
// run), one file per terminal, pure Go (no cgo, builds everywhere possim
// does), and every update is an ACID transaction that is fsync'd before
// Update returns — which is exactly the guarantee a terminal needs: a
// reversal written before its request is sent is on disk when the request
// leaves, whatever happens next (kill -9, power cut). Its exclusive file
// lock also stops two terminals sharing one journal; Open takes a timeout
// so a locked file is an error, not a hang.
//
// Layout: bucket "meta" holds "stan" (the last STAN used, 4 bytes) and
// bucket "tx" the records by sequence number (8 bytes big-endian) as JSON.
// A record carries its reversal (fields, STAN, state): the queue is the
// records whose reversal is due. At open, reversals left armed by a
// process that died become due.
type Journal struct {
	path string
	db   *bolt.DB
	mu   sync.Mutex
	last uint32
}

var (
	bucketMeta = []byte("meta")
	bucketTx   = []byte("tx")
	keySTAN    = []byte("stan")
)

// JournalError is a journal that cannot be used, with its cause.
type JournalError struct {
	Path  string
	Cause diagnose.ID
	Err   error
}

func (e *JournalError) Error() string { return fmt.Sprintf("journal %s: %v", e.Path, e.Err) }
func (e *JournalError) Unwrap() error { return e.Err }

// DefaultJournalPath is the journal of terminal tid: one file per TID
// under $XDG_STATE_HOME/possim/ (or ~/.local/state/possim/).
func DefaultJournalPath(tid string) (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no state directory: set XDG_STATE_HOME or HOME, or pass --journal FILE: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	safe := make([]byte, 0, len(tid))
	for _, c := range []byte(tid) {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			safe = append(safe, c)
		} else {
			safe = append(safe, '_')
		}
	}
	return filepath.Join(dir, "possim", "terminal-"+string(safe)+".journal"), nil
}

// OpenJournal opens (creating) the journal at path. A file another
// process holds, or one that is not a journal, is a *JournalError naming
// the file.
func OpenJournal(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &JournalError{path, diagnose.JournalUnwritable, err}
	}
	db, err := openBolt(path)
	if err != nil {
		return nil, err
	}
	j := &Journal{path: path, db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		mb, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		tb, err := tx.CreateBucketIfNotExists(bucketTx)
		if err != nil {
			return err
		}
		if v := mb.Get(keySTAN); len(v) == 4 {
			j.last = binary.BigEndian.Uint32(v)
		}
		// Reversals armed by a process that is gone are due now: that
		// process may have sent the request.
		c := tb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("record %x does not decode: %w", k, err)
			}
			if r.RevState == RevArmed {
				r.RevState = RevDue
				if r.Class == "" {
					r.Why = "the terminal stopped with the request in flight"
				}
				b, _ := json.Marshal(&r)
				if err := tb.Put(k, b); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, &JournalError{path, diagnose.JournalCorrupt, err}
	}
	return j, nil
}

// openBolt opens path with a timeout on its lock, turning bbolt's panics
// on damaged files into errors.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, &JournalError{path, diagnose.JournalCorrupt, fmt.Errorf("not a journal (damaged file): %v", p)}
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, &JournalError{path, diagnose.JournalLocked, errors.New("in use by another process (locked): stop the other possim terminal or pass another --journal")}
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, &JournalError{path, diagnose.JournalCorrupt, fmt.Errorf("not a journal or damaged (%v): move it away to start a new one", err)}
	case errors.Is(err, os.ErrPermission):
		return nil, &JournalError{path, diagnose.JournalUnwritable, err}
	}
	return nil, &JournalError{path, diagnose.JournalCorrupt, err}
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

func (j *Journal) Durable() bool { return true }

// LastSTAN is the last STAN recorded.
func (j *Journal) LastSTAN() uint32 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last
}

func seqKey(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

func stanNum(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

// put writes r (a new one gets the next sequence number) and the STANs it
// uses, in one fsync'd transaction.
func (j *Journal) put(r *Record) error {
	err := j.db.Update(func(tx *bolt.Tx) error {
		tb, mb := tx.Bucket(bucketTx), tx.Bucket(bucketMeta)
		if r.Seq == 0 {
			n, err := tb.NextSequence()
			if err != nil {
				return err
			}
			r.Seq = n
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := tb.Put(seqKey(r.Seq), b); err != nil {
			return err
		}
		// The counter only moves forward (modulo the wrap at 999999): the
		// reversal's STAN is allocated after the request's.
		last := stanNum(r.STAN)
		if rs := stanNum(r.RevSTAN); rs != 0 {
			last = rs
		}
		j.mu.Lock()
		prev := j.last
		j.mu.Unlock()
		// Forward only: rewriting an old record (a sale marked voided) must
		// not move the counter back; past 999999 it wraps to 1.
		if last != 0 && (last > prev || prev-last > 500000) {
			var v [4]byte
			binary.BigEndian.PutUint32(v[:], last)
			if err := mb.Put(keySTAN, v[:]); err != nil {
				return err
			}
			j.mu.Lock()
			j.last = last
			j.mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return &JournalError{j.path, diagnose.JournalUnwritable, err}
	}
	return nil
}

func (j *Journal) Begin(r *Record) error  { return j.put(r) }
func (j *Journal) Finish(r *Record) error { return j.put(r) }
func (j *Journal) Queue(r *Record) error  { return j.put(r) }
func (j *Journal) Acked(r *Record) error  { return j.put(r) }

// Records returns up to n records, newest first (n ≤ 0: all).
func (j *Journal) Records(n int) ([]*Record, error) {
	var out []*Record
	err := j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTx).Cursor()
		for k, v := c.Last(); k != nil && (n <= 0 || len(out) < n); k, v = c.Prev() {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return &JournalError{j.path, diagnose.JournalCorrupt, fmt.Errorf("record %x does not decode: %w", k, err)}
			}
			out = append(out, &r)
		}
		return nil
	})
	return out, err
}

// Due lists the reversals to send, oldest first.
func (j *Journal) Due() ([]*Record, error) {
	all, err := j.Records(0)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].RevState == RevDue {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// Clear drops every due reversal (they will never be sent): it returns how
// many.
func (j *Journal) Clear() (int, error) {
	due, err := j.Due()
	if err != nil {
		return 0, err
	}
	for _, r := range due {
		r.RevState = RevNone
		r.Why += "; reversal cleared by the operator (never sent)"
		if err := j.put(r); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// LastApproved is the newest approved transaction of one of kinds that no
// void has cancelled and no reversal undid, nil when none.
func (j *Journal) LastApproved(kinds ...Kind) (*Record, error) {
	all, err := j.Records(0)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.Class != Approved.String() || r.Voided || r.RevState == RevDue || r.RevState == RevAcked {
			continue
		}
		for _, k := range kinds {
			if r.Kind == k {
				return r, nil
			}
		}
	}
	return nil, nil
}

// MarkVoided records that the void of sale r was approved.
func (j *Journal) MarkVoided(r *Record) error {
	r.Voided = true
	return j.put(r)
}

// Close closes the file.
func (j *Journal) Close() error { return j.db.Close() }

var _ Store = (*Journal)(nil)
