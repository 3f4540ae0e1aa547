package scenarios

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ActDropLink drops the host's links or one terminal's.
const ActDropLink Action = "drop_link"

// DropLinkStep is a drop_link: step.
type DropLinkStep struct {
	Of string // "host" (every link) or a terminal id
}

func init() {
	registerStep(&stepKind{name: ActDropLink, rank: 10, decode: func(c *stepDec) (StepSpec, error) {
		sp := &DropLinkStep{Of: c.o.str(c.act(), "host")}
		if sp.Of != "host" {
			c.termRef(c.act(), sp.Of)
		}
		return sp, nil
	}})
}

func (sp *DropLinkStep) run(_ context.Context, rn *runner, _ *Step) {
	now := time.Now()
	if sp.Of == "host" {
		n := rn.h.DropLinks()
		rn.rec.add(Event{Side: "host", Kind: EvLog, Detail: fmt.Sprintf("dropped %d links", n)})
		rn.disruptAll(now)
		return
	}
	ts := rn.terms[sp.Of]
	ts.markDisrupted(now)
	if l := ts.term.Link(); l != nil {
		l.Abort(errors.New("link dropped by the scenario (cable pulled at the terminal)"))
	}
}

func (sp *DropLinkStep) describe(*Step) string {
	if sp.Of == "host" {
		return "the host drops every link"
	}
	return "drop the link of " + sp.Of
}
