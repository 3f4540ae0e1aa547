package terminal

import (
	"sync"
	"time"

	"github.com/possim/possim/internal/diagnose"
)

// Store is where a terminal keeps what must outlive a transaction: the STAN
// counter, every transaction with its outcome, and the store-and-forward
// queue of reversals. The journal (journal.go) keeps it on disk so that a
// crash loses nothing; the fleet keeps it in memory (memStore), because it
// shares links among thousands of terminals and a load run is not a till.
type Store interface {
	// Durable reports whether the store survives the process: only then
	// is a reversal armed (written) before its request goes out.
	Durable() bool
	// Begin is called before a request is written: it records the STANs in
	// use (so that they never repeat) and, for a reversible kind, arms its
	// reversal — from now on a crash leaves the reversal behind, to be sent
	// at the next connection.
	Begin(r *Record) error
	// Finish records the outcome; a reversal that is not needed is
	// disarmed.
	Finish(r *Record) error
	// Queue makes r's reversal due: store-and-forward sends it.
	Queue(r *Record) error
	// Acked records that r's reversal was acknowledged.
	Acked(r *Record) error
	// Due lists the reversals to send, oldest first.
	Due() ([]*Record, error)
	// LastSTAN is the last STAN the store knows was used (0: none).
	LastSTAN() uint32
	Close() error
}

// RevState is where a transaction's reversal stands.
type RevState string

const (
	RevNone  RevState = ""      // none needed (or not a reversible kind)
	RevArmed RevState = "armed" // written before the request: sent if the process dies
	RevDue   RevState = "due"   // to be sent by store-and-forward
	RevAcked RevState = "acked" // the host acknowledged it
)

// Record is one transaction as a Store keeps it.
type Record struct {
	Seq       uint64        `json:"seq"`
	At        time.Time     `json:"at"`
	Kind      Kind          `json:"kind"`
	TID       string        `json:"tid"`
	STAN      string        `json:"stan"`
	Amount    int64         `json:"amount,omitempty"`
	PANMasked string        `json:"pan,omitempty"`
	OrigRRN   string        `json:"orig_rrn,omitempty"`
	Class     string        `json:"class,omitempty"` // "" while in flight
	RC        string        `json:"rc,omitempty"`
	RRN       string        `json:"rrn,omitempty"`
	AuthCode  string        `json:"auth_code,omitempty"`
	Cause     diagnose.ID   `json:"cause,omitempty"`
	Why       string        `json:"why,omitempty"`
	Latency   time.Duration `json:"latency_ns,omitempty"`

	// The reversal: the fields it needs (never the full PAN), its MTI and
	// STAN, its state and the attempts made.
	Orig        *OrigFields `json:"orig,omitempty"`
	RevMTI      string      `json:"rev_mti,omitempty"`
	RevSTAN     string      `json:"rev_stan,omitempty"`
	RevState    RevState    `json:"rev_state,omitempty"`
	RevAttempts int         `json:"rev_attempts,omitempty"`
	// Voided is set on an approved sale once a void of it was approved.
	Voided bool `json:"voided,omitempty"`
}

// memStore is the in-memory Store: the store-and-forward queue only (the
// fleet does not keep transactions; its report counts them).
type memStore struct {
	mu  sync.Mutex
	saf []*Record
}

func newMemStore() *memStore { return &memStore{} }

func (s *memStore) Durable() bool        { return false }
func (s *memStore) Begin(*Record) error  { return nil }
func (s *memStore) Finish(*Record) error { return nil }
func (s *memStore) LastSTAN() uint32     { return 0 }
func (s *memStore) Close() error         { return nil }
func (s *memStore) Queue(r *Record) error {
	c := *r // r may live in a pooled transaction
	c.RevState = RevDue
	s.mu.Lock()
	s.saf = append(s.saf, &c)
	s.mu.Unlock()
	return nil
}

func (s *memStore) Acked(r *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.saf {
		if q.RevSTAN == r.RevSTAN && q.STAN == r.STAN {
			s.saf = append(s.saf[:i], s.saf[i+1:]...)
			break
		}
	}
	return nil
}

func (s *memStore) Due() ([]*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Record(nil), s.saf...), nil
}
