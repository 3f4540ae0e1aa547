package fault

// registerTriggered registers a link fault that acts once, when its
// trigger (after=, messages or a duration) fires, and whose only
// attributes are the trigger's: close, reset, blackhole, half-open. Each
// of those files keeps its own symptom, description and act.
func registerTriggered(name, symptom string, make func(trigger) triggered) {
	register(&faultType{
		TypeInfo: TypeInfo{Name: name, Level: LevelLink, Attributes: triggerAttrs(), Symptom: symptom},
		conn: func(a attrs) (connFault, error) {
			t, err := parseTrigger(a)
			return make(t), err
		},
	})
}

// onTrigger is embedded by the faults registerTriggered makes: they fire
// between frames (not at a frame start) and have nothing to undo unless
// they say otherwise.
type onTrigger struct{ t trigger }

func (f onTrigger) when() trigger { return f.t }
func (onTrigger) atFrame() bool   { return false }
func (onTrigger) undo(*faultConn) {}
