package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"
	"github.com/possim/possim/internal/iso"
)

// The baseline: moov-io/iso8583-connection v0.9.0, a client Connection and
// a server built with its server package, over loopback, carrying the same
// request (the fleet's purchase) and giving the same answer (the fields
// our host echoes, plus 37, 38 and 39), with the same dialect and the same
// 2-byte length header.

func readLen(r io.Reader) (int, error) {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b[:])), nil
}

func writeLen(w io.Writer, n int) (int, error) {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], uint16(n))
	return w.Write(b[:])
}

// tidSTAN matches on TID + STAN, as possim does (the library's default is
// the STAN alone).
type tidSTAN struct{}

func (tidSTAN) GenerateRequestID(m *iso8583.Message) (string, error) {
	tid, err := m.GetString(41)
	if err != nil {
		return "", err
	}
	stan, err := m.GetString(11)
	if err != nil {
		return "", err
	}
	if stan == "" {
		return "", fmt.Errorf("no STAN")
	}
	return tid + stan, nil
}

// echoFields are the request fields our host echoes in a financial answer.
var echoFields = []int{2, 3, 4, 7, 11, 12, 13, 14, 22, 23, 25, 32, 37, 41, 42, 49}

// baselineHandler answers like our host: response MTI, echoed fields, RRN,
// approval code, RC 00. The library runs it on a goroutine per message.
func baselineHandler(d *iso.Dialect) func(*connection.Connection, *iso8583.Message) {
	var seq atomic.Uint64
	return func(c *connection.Connection, m *iso8583.Message) {
		mti, _ := m.GetMTI()
		rmti, err := iso.ResponseMTI(mti)
		if err != nil {
			return
		}
		resp := d.NewMessage()
		resp.MTI(rmti)
		fields := m.GetFields()
		for _, id := range echoFields {
			if f, ok := fields[id]; ok {
				if b, err := f.Bytes(); err == nil {
					_ = resp.BinaryField(id, b)
				}
			}
		}
		n := seq.Add(1)
		_ = iso.Set(resp, 37, fmt.Sprintf("%012d", n))
		_ = iso.Set(resp, 38, fmt.Sprintf("%06d", n%1000000))
		_ = iso.Set(resp, 39, "00")
		_ = c.Reply(resp)
	}
}

// Baseline runs conc goroutines, each sending the request and waiting for
// its answer in a loop (Connection.Send is synchronous), over conns
// connections, for d.
func Baseline(req *iso8583.Message, conc, conns int, d time.Duration) (Sat, error) {
	dl := Dialect()
	srv := server.New(dl.Spec, readLen, writeLen, connection.InboundMessageHandler(baselineHandler(dl)),
		connection.SetRequestIDGenerator(tidSTAN{}))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return Sat{}, err
	}
	defer srv.Close()
	clients := make([]*connection.Connection, conns)
	for i := range clients {
		c, err := connection.New(srv.Addr, dl.Spec, readLen, writeLen,
			connection.SetRequestIDGenerator(tidSTAN{}), connection.SendTimeout(10*time.Second))
		if err != nil {
			return Sat{}, err
		}
		if err := c.Connect(); err != nil {
			return Sat{}, err
		}
		defer c.Close()
		clients[i] = c
	}
	raw, err := req.Pack()
	if err != nil {
		return Sat{}, err
	}
	run := func(d time.Duration) (int64, int64, time.Duration) {
		var ok, bad atomic.Int64
		var stop atomic.Bool
		var wg sync.WaitGroup
		var stan atomic.Uint32
		for g := range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := clients[g%conns]
				// Each goroutine reuses its own message, setting the STAN
				// and TID per request, as the fleet does.
				m, _ := dl.Unpack(raw)
				tid := fmt.Sprintf("BASE%04d", g)
				for !stop.Load() {
					_ = m.Field(41, tid)
					_ = m.Field(11, fmt.Sprintf("%06d", stan.Add(1)%999999+1))
					resp, err := c.Send(m)
					if err != nil {
						bad.Add(1)
						continue
					}
					if rc, _ := resp.GetString(39); rc == "00" {
						ok.Add(1)
					} else {
						bad.Add(1)
					}
				}
			}()
		}
		runtime.GC()
		t0 := time.Now()
		time.Sleep(d)
		stop.Store(true)
		wg.Wait()
		return ok.Load(), bad.Load(), time.Since(t0)
	}
	run(min(d/5, time.Second)) // warm up
	runtime.GC()
	m := startMeter()
	ok, bad, el := run(d)
	cpu, others := m.stop()
	return Sat{Concurrency: conc, Links: conns, Transactions: ok, Errors: bad, Elapsed: el, CPU: cpu, Others: others}, nil
}
