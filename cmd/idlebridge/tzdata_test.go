package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// TestEmbedsTZData: the binary must carry time/tzdata, or a container
// without /usr/share/zoneinfo turns every calendar zone into an error
// (research note 4.6). This machine has zoneinfo, so a LoadLocation call
// would pass either way; the import is what is checked.
func TestEmbedsTZData(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "main" {
			continue
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "time/tzdata" {
				return
			}
		}
	}
	t.Fatal("cmd/idlebridge does not import time/tzdata")
}
