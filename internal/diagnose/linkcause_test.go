package diagnose

import (
	"testing"

	"github.com/possim/possim/internal/link"
)

// LinkCause names a link failure from its kind and text alone; the finer
// reading of a whole observation (linkFailure) agrees with it wherever the
// observation adds nothing.
func TestLinkCause(t *testing.T) {
	for _, c := range []struct {
		kind link.FailKind
		err  string
		want ID
	}{
		{link.FailPeerReset, "read: connection reset by peer", LinkReset},
		{link.FailPeerClosed, "EOF", LinkClosed},
		{link.FailWriteTimeout, "write timeout", LinkWriteTimeout},
		{link.FailIdle, "idle", LinkIdleTimeout},
		{link.FailFraming, "bad frame", FramingLost},
		{link.FailIO, "some error", LinkDown},
		{link.FailLocalClose, "closed", LinkDown},
		{link.FailPeerReset, "read: remote error: tls: certificate required", TLSClientCertRequired},
	} {
		if got := LinkCause(c.kind, c.err); got != c.want {
			t.Errorf("LinkCause(%v, %q) = %s, want %s", c.kind, c.err, got, c.want)
		}
		if c.kind == link.FailFraming || c.kind == link.FailPeerClosed {
			continue // linkFailure reads the frame and the first message
		}
		if got := linkFailure(Observation{LinkFail: c.kind, LinkErr: c.err}).Cause; got != c.want {
			t.Errorf("linkFailure(%v, %q) = %s, want %s", c.kind, c.err, got, c.want)
		}
	}
}
