package fault

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/possim/possim/internal/iso"
	"github.com/possim/possim/internal/yamlnode"
)

// Level says where a fault acts.
type Level string

const (
	LevelLink     Level = "link"     // the byte stream: RuleSet.WrapConn, RuleSet.WrapListener
	LevelMessage  Level = "message"  // one message: RuleSet.Interceptor
	LevelHost     Level = "host"     // an action the host carries out: Unsolicited, Crashes
	LevelTerminal Level = "terminal" // a decision the terminal checks: Dies
)

// Attribute kinds.
const (
	KindDuration      = "duration"          // 35s, 500ms
	KindInt           = "int"               // a whole number (may be signed where the doc says so)
	KindString        = "string"            // free text
	KindField         = "field"             // a field number 2..128
	KindEnum          = "enum"              // one of the listed values
	KindMessagesOrDur = "messages|duration" // a count of messages (3) or a duration (5s)
)

// Attribute is one type-specific setting of a fault.
type Attribute struct {
	Name     string
	Kind     string
	Default  string   // shown in the catalogue; "" means none
	Doc      string   // one line
	Values   []string // KindEnum: the valid values
	Required bool

	check func(string) error // extra validation beyond the kind
}

// TypeInfo describes one fault type for `possim faults`.
type TypeInfo struct {
	Name       string
	Level      Level
	Attributes []Attribute
	// Symptom is one sentence: what the other side sees.
	Symptom string
	// Streams the type accepts in a rule's stream=.
	Streams []Stream
	// DefaultStream is the stream when a rule gives none. StreamOut means
	// the direction the side writes (a host: downstream, a terminal:
	// upstream, a proxy: downstream).
	DefaultStream Stream
	// Inbound: a message fault that also acts on a message the side
	// receives (drop and field rewrites). The others (delay, duplicate,
	// frame rewrites...) act only where the message is written.
	Inbound bool
}

// faultType is a registered fault: its description and how to build it.
type faultType struct {
	TypeInfo
	// exactly one of these is set, by level
	msg  func(a attrs) (msgFault, error)
	conn func(a attrs) (connFault, error)
}

var registry = map[string]*faultType{}

func register(t *faultType) {
	if _, dup := registry[t.Name]; dup {
		panic("fault: type registered twice: " + t.Name)
	}
	if len(t.Streams) == 0 {
		t.Streams = []Stream{Upstream, Downstream, Both}
	}
	registry[t.Name] = t
}

// Catalogue lists every fault type, sorted by level (message, link, host,
// terminal) then name.
func Catalogue() []TypeInfo {
	out := make([]TypeInfo, 0, len(registry))
	for _, t := range registry {
		ti := t.TypeInfo
		ti.Attributes = append([]Attribute(nil), ti.Attributes...)
		ti.Streams = append([]Stream(nil), ti.Streams...)
		out = append(out, ti)
	}
	rank := map[Level]int{LevelMessage: 0, LevelLink: 1, LevelHost: 2, LevelTerminal: 3}
	sort.Slice(out, func(i, j int) bool {
		if rank[out[i].Level] != rank[out[j].Level] {
			return rank[out[i].Level] < rank[out[j].Level]
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Lookup returns the named fault type.
func Lookup(name string) (TypeInfo, bool) {
	t, ok := registry[name]
	if !ok {
		return TypeInfo{}, false
	}
	return t.TypeInfo, true
}

// WriteCatalogueWidth renders the catalogue, one type a block, wrapped to
// width columns: the type, where it acts and its default stream, then its
// symptom and attributes indented beneath, so a narrow terminal never
// breaks a line in the middle of a column.
func WriteCatalogueWidth(w io.Writer, width int) error {
	width = max(width, 40)
	ew := &errWriter{w: w}
	for _, t := range Catalogue() {
		fmt.Fprintf(ew, "%s  (%s)\n", t.Name, where(t))
		wrapTo(ew, "    ", t.Symptom, width)
		if len(t.Attributes) > 0 {
			var names []string
			for _, a := range t.Attributes {
				s := a.Name
				if a.Default != "" {
					s += "=" + a.Default
				}
				names = append(names, s)
			}
			wrapTo(ew, "    attributes: ", strings.Join(names, " "), width)
		}
	}
	fmt.Fprintln(ew)
	wrapTo(ew, "Rule keys: ", ruleKeysHelp, width)
	wrapTo(ew, "Syntax:    ", "--fault 'TYPE[:key=value,...]', e.g. --fault 'delay:mti=0210,p=0.1,delay=35s'", width)
	wrapTo(ew, "", "Run 'possim faults TYPE' for one type in full: its attributes, their kinds and defaults, and which side carries it out.", width)
	return ew.err
}

// WriteType renders one fault type in full.
func WriteType(w io.Writer, name string, width int) error {
	if _, err := lookupType(name); err != nil {
		return err
	}
	t, _ := Lookup(name)
	width = max(width, 40)
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "%s  (%s)\n\n", t.Name, where(t))
	wrapTo(ew, "", t.Symptom, width)
	if c := carriers(t.Name, t.Level); c != nil {
		wrapTo(ew, "", "Carried out by "+sideNames(c)+".", width)
	}
	if t.Level == LevelMessage || t.Level == LevelLink {
		var st []string
		for _, s := range t.Streams {
			st = append(st, s.String())
		}
		wrapTo(ew, "", fmt.Sprintf("Streams: %s (default %s).", strings.Join(st, ", "), t.DefaultStream), width)
	}
	fmt.Fprintln(ew)
	if len(t.Attributes) == 0 {
		fmt.Fprintln(ew, "Attributes: none")
	} else {
		fmt.Fprintln(ew, "Attributes:")
		for _, a := range t.Attributes {
			kind := a.Kind
			if a.Kind == KindEnum {
				kind = strings.Join(a.Values, "|")
			}
			def := "default " + a.Default
			switch {
			case a.Required:
				def = "required"
			case a.Default == "":
				def = "no default"
			}
			fmt.Fprintf(ew, "  %s (%s, %s)\n", a.Name, kind, def)
			wrapTo(ew, "      ", a.Doc, width)
		}
	}
	fmt.Fprintln(ew)
	wrapTo(ew, "Rule keys: ", ruleKeysHelp, width)
	wrapTo(ew, "Example:   ", "--fault '"+exampleSpec(t)+"'", width)
	return ew.err
}

func where(t TypeInfo) string {
	if t.Level == LevelHost || t.Level == LevelTerminal {
		return string(t.Level) + " action"
	}
	return fmt.Sprintf("%s fault, default stream %s", t.Level, t.DefaultStream)
}

func exampleSpec(t TypeInfo) string {
	var kv []string
	for _, a := range t.Attributes {
		if a.Default != "" {
			kv = append(kv, a.Name+"="+a.Default)
		}
	}
	if len(kv) == 0 {
		return t.Name
	}
	return t.Name + ":" + strings.Join(kv, ",")
}

// wrapTo writes text after prefix, wrapped at width on spaces; continuation
// lines are indented to the prefix's width.
func wrapTo(w io.Writer, prefix, text string, width int) {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	line, n := prefix, utf8.RuneCountInString(prefix)
	empty := true
	for _, word := range strings.Fields(text) {
		l := utf8.RuneCountInString(word)
		if !empty && n+1+l > width {
			fmt.Fprintln(w, line)
			line, n, empty = indent, len(indent), true
		}
		if !empty {
			line += " "
			n++
		}
		line += word
		n += l
		empty = false
	}
	fmt.Fprintln(w, line)
}

// errWriter keeps the first write error so a renderer can check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

const ruleKeysHelp = "mti=0200|0210 pc=PREFIX tid=TID field.N=VALUE nth=N every=K p=0..1 count=N after=DUR until=DUR stream=upstream|downstream|both name=LABEL"

// attrs are a rule's attribute values, validated, defaults filled in.
type attrs map[string]string

func (a attrs) str(k string) string { return a[k] }

func (a attrs) dur(k string) time.Duration {
	d, _ := time.ParseDuration(a[k])
	return d
}

func (a attrs) int(k string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(a[k], "+"))
	return n
}

// msgsOrDur reads a KindMessagesOrDur attribute: a count, or a duration.
func (a attrs) msgsOrDur(k string) (n int, d time.Duration, set bool) {
	v, ok := a[k]
	if !ok || v == "" {
		return 0, 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n, 0, true
	}
	d, _ = time.ParseDuration(v)
	return 0, d, true
}

// checkAttr validates one attribute value against its declaration; the
// error names the token and says what is valid.
func (t *faultType) checkAttr(key, val string) error {
	a := t.attr(key)
	if a == nil {
		return fmt.Errorf("%s=%s: unknown key for %s: %s", key, val, t.Name, t.validKeys())
	}
	if err := checkKind(a, val); err != nil {
		return fmt.Errorf("%s=%s: %v", key, val, err)
	}
	return nil
}

func checkKind(a *Attribute, val string) error {
	switch a.Kind {
	case KindDuration:
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("not a duration (use a unit: 35s, 500ms, 2m)")
		}
		if d < 0 {
			return fmt.Errorf("must not be negative")
		}
	case KindInt:
		if _, err := strconv.Atoi(strings.TrimPrefix(val, "+")); err != nil {
			return fmt.Errorf("not a whole number")
		}
	case KindField:
		if _, err := iso.ParseField(val); err != nil {
			return err
		}
	case KindEnum:
		for _, v := range a.Values {
			if v == val {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(a.Values, ", "))
	case KindMessagesOrDur:
		if n, err := strconv.Atoi(val); err == nil {
			if n < 0 {
				return fmt.Errorf("must not be negative")
			}
		} else if d, err := time.ParseDuration(val); err != nil || d < 0 {
			return fmt.Errorf("want a number of messages (3) or a duration (5s)")
		}
	}
	if a.check != nil {
		return a.check(val)
	}
	return nil
}

func (t *faultType) attr(key string) *Attribute {
	for i := range t.Attributes {
		if t.Attributes[i].Name == key {
			return &t.Attributes[i]
		}
	}
	return nil
}

// ruleKeys are the rule-level keys a type accepts (its own attributes with
// the same name take precedence).
func (t *faultType) ruleKeys() []string {
	var keys []string
	switch t.Level {
	case LevelMessage, LevelTerminal:
		keys = []string{"name", "stream", "mti", "pc", "tid", "field.N", "nth", "every", "p", "count", "after", "until"}
	case LevelLink:
		keys = []string{"name", "stream", "p", "count", "after", "until"}
	case LevelHost:
		keys = []string{"name", "p", "count", "after", "until"}
	}
	out := keys[:0:0]
	for _, k := range keys {
		if t.attr(k) == nil {
			out = append(out, k)
		}
	}
	return out
}

// keyNames are the keys a rule of type t takes: its rule keys, then its
// attributes.
func (t *faultType) keyNames() []string {
	names := t.ruleKeys()
	for _, a := range t.Attributes {
		names = append(names, a.Name)
	}
	return names
}

// acceptsKey is what a YAML fault mapping may hold for type t: "type", its
// own keys, and any rule key (so that setKey can say which ones t does not
// take rather than call them unknown).
func (t *faultType) acceptsKey(k string) bool {
	if k == "type" || t.attr(k) != nil {
		return true
	}
	if strings.HasPrefix(k, "field.") {
		k = "field.N"
	}
	return isRuleKey(k)
}

func (t *faultType) validKeys() string {
	s := "valid keys are " + strings.Join(t.ruleKeys(), ", ")
	if len(t.Attributes) > 0 {
		var names []string
		for _, a := range t.Attributes {
			names = append(names, a.Name)
		}
		s += " and " + t.Name + "'s attributes " + strings.Join(names, ", ")
	}
	return s
}

// lookupType returns the registered type or an error that suggests the
// nearest name.
func lookupType(name string) (*faultType, error) {
	if t, ok := registry[name]; ok {
		return t, nil
	}
	if s := suggest(name); s != "" {
		return nil, fmt.Errorf("unknown fault type %q (did you mean %q? see possim faults)", name, s)
	}
	return nil, fmt.Errorf("unknown fault type %q (see possim faults for the list)", name)
}

func suggest(name string) string {
	best, bestD := "", 3
	for n := range registry {
		d := yamlnode.EditDistance(strings.ToLower(name), n)
		if d < bestD || (d == bestD && best != "" && n < best) {
			best, bestD = n, d
		}
	}
	if best == "" {
		for n := range registry {
			if len(name) >= 3 && strings.HasPrefix(n, strings.ToLower(name)) {
				return n
			}
		}
	}
	return best
}
