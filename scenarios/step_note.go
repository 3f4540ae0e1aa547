package scenarios

import (
	"context"
	"strings"
)

// ActNote writes a note on the timeline.
const ActNote Action = "note"

// NoteStep is a note: step.
type NoteStep struct {
	Text string
}

func init() {
	registerStep(&stepKind{name: ActNote, rank: 14, decode: func(c *stepDec) (StepSpec, error) {
		return &NoteStep{Text: strings.TrimSpace(c.o.str(c.act(), ""))}, nil
	}})
}

func (*NoteStep) run(context.Context, *runner, *Step) {}

func (*NoteStep) describe(*Step) string { return "note" }

// timeline is the event the step puts on the timeline: the note itself.
func (sp *NoteStep) timeline(st *Step) Event {
	return Event{Kind: EvNote, Step: st.Index, Detail: sp.Text}
}
