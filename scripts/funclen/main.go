// Command funclen lists the functions longer than a number of lines
// (80 by default, -max N), longest first, in the Go files (tests left out)
// under the directories given: issue 27's measure of a function that does
// too much. Usage: go run ./scripts/funclen [-max N] DIR...
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type long struct {
	lines int
	where string
}

func main() {
	max := flag.Int("max", 80, "longest a function may be, in lines")
	flag.Parse()
	fset := token.NewFileSet()
	var found []long
	for _, root := range flag.Args() {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, p, nil, 0)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				start, end := fset.Position(fd.Pos()), fset.Position(fd.End())
				if n := end.Line - start.Line + 1; n > *max {
					found = append(found, long{n, fmt.Sprintf("%s:%d %s", p, start.Line, fd.Name.Name)})
				}
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "funclen:", err)
			os.Exit(1)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].lines > found[j].lines })
	for _, l := range found {
		fmt.Printf("%4d %s\n", l.lines, l.where)
	}
}
