package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed library/*.yaml
var libraryFS embed.FS

type libEntry struct {
	sc  *Scenario
	err error
}

var library = sync.OnceValue(func() map[string]libEntry {
	out := map[string]libEntry{}
	files, _ := fs.Glob(libraryFS, "library/*.yaml")
	for _, f := range files {
		data, err := libraryFS.ReadFile(f)
		name := strings.TrimSuffix(path.Base(f), ".yaml")
		if err != nil {
			out[name] = libEntry{err: err}
			continue
		}
		sc, err := Load(f, data)
		if err == nil && sc.Name != name {
			err = fmt.Errorf("%s: name %q does not match the file name", f, sc.Name)
		}
		out[name] = libEntry{sc, err}
	}
	return out
})

// LibraryNames lists the built-in scenarios, sorted.
func LibraryNames() []string {
	lib := library()
	out := make([]string, 0, len(lib))
	for n := range lib {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Library returns a built-in scenario by name.
func Library(name string) (*Scenario, error) {
	e, ok := library()[name]
	if !ok {
		hint := ""
		if s := suggestKey(name, LibraryNames()); s != "" {
			hint = s
		}
		return nil, fmt.Errorf("no scenario %q in the library%s (see possim scenarios list)", name, hint)
	}
	return e.sc, e.err
}
