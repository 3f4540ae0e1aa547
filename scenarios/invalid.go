package scenarios

import (
	"regexp"
	"strings"
)

// Invalid is a scenario that could not be loaded: reports list it beside the
// ones that ran, so a CI job reading JUnit or JSON sees every scenario it
// asked for, the broken one as an error with its file:line.
type Invalid struct {
	Arg   string `json:"scenario"` // what the user named: a file or a library name
	Pos   string `json:"pos"`      // file:line of the first error, or the file
	Error string `json:"error"`
}

var posRE = regexp.MustCompile(`^([^\s:]+\.ya?ml):(\d+)(?::\d+)?:`)

// NewInvalid describes a scenario that failed to load with err.
func NewInvalid(arg string, err error) Invalid {
	msg := err.Error()
	pos := arg
	if m := posRE.FindStringSubmatch(msg); m != nil {
		pos = m[1] + ":" + m[2]
	}
	return Invalid{Arg: arg, Pos: pos, Error: strings.TrimSpace(msg)}
}

// Name is the name a report shows for the invalid scenario: the file's base
// name without extension, or the library name.
func (v Invalid) Name() string {
	n := v.Arg
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.TrimSuffix(strings.TrimSuffix(n, ".yaml"), ".yml")
	return n
}
