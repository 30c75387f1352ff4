package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// suiteClientFunc replaces redis.NewClient in the copied test files; it is
// defined by testdata/suiteguard_test.go.
const suiteClientFunc = "newSuiteClient"

// bootstrapFile is the suite's bootstrap: its BeforeSuite and AfterSuite start
// and stop the ring, Sentinel and cluster servers of go-redis's docker setup,
// which none of the selected files use.
const bootstrapFile = "main_test.go"

// bootstrapDecls are the declarations of bootstrapFile that only the cluster
// setup uses; they need osscluster_test.go, which the harness leaves out.
var bootstrapDecls = []string{"cluster", "tlsCluster", "initializeTLSCluster", "cleanupTLSCluster"}

// droppedContainers are the top-level Describe containers, by file, that need
// a Redis cluster: the selected files need one server otherwise.
var droppedContainers = map[string][]string{
	"race_test.go": {"cluster races"},
}

// rewriteFile copies the Go test file src to dst, with every call of
// redis.NewClient turned into a call of newSuiteClient and, for the suite's
// bootstrap, the ring, Sentinel and cluster setup removed. It returns the
// number of calls rewritten.
//
// Every edit is checked: when go-redis's files no longer have the shape the
// edit expects, rewriteFile fails instead of running a different suite.
func rewriteFile(src, dst string) (int, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, src, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return 0, err
	}
	calls := rewriteNewClient(file)
	if file.Name.Name == "redis_test" && filepath.Base(src) == bootstrapFile {
		if err := trimBootstrap(file); err != nil {
			return 0, fmt.Errorf("%s: %w", src, err)
		}
	}
	for _, text := range droppedContainers[filepath.Base(src)] {
		if err := dropContainer(file, text); err != nil {
			return 0, fmt.Errorf("%s: %w", src, err)
		}
	}
	var out bytes.Buffer
	if err := format.Node(&out, fset, file); err != nil {
		return 0, fmt.Errorf("%s: %w", src, err)
	}
	return calls, os.WriteFile(dst, out.Bytes(), 0o644)
}

// rewriteNewClient turns every redis.NewClient(opt) into newSuiteClient(opt).
func rewriteNewClient(file *ast.File) int {
	calls := 0
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "NewClient" {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "redis" {
			call.Fun = &ast.Ident{NamePos: sel.Pos(), Name: suiteClientFunc}
			calls++
		}
		return true
	})
	return calls
}

// trimBootstrap removes the `if !RECluster { … }` blocks of BeforeSuite and
// AfterSuite (the ring, Sentinel and cluster setup) and the declarations only
// they use.
func trimBootstrap(file *ast.File) error {
	for _, node := range []string{"BeforeSuite", "AfterSuite"} {
		body := suiteNodeBody(file, node)
		if body == nil {
			return fmt.Errorf("no %s(func() { … }) found", node)
		}
		removed := 0
		kept := body.List[:0]
		for _, stmt := range body.List {
			if isNotRECluster(stmt) {
				removed++
				continue
			}
			kept = append(kept, stmt)
		}
		if removed != 1 {
			return fmt.Errorf("%s: found %d `if !RECluster` blocks, want 1", node, removed)
		}
		body.List = kept
	}

	want := make(map[string]bool, len(bootstrapDecls))
	for _, name := range bootstrapDecls {
		want[name] = true
	}
	kept := file.Decls[:0]
	for _, decl := range file.Decls {
		if name, ok := singleDeclName(decl); ok && want[name] {
			delete(want, name)
			continue
		}
		kept = append(kept, decl)
	}
	file.Decls = kept
	if len(want) > 0 {
		return fmt.Errorf("declarations not found: %v", slices.Sorted(maps.Keys(want)))
	}
	// Comments of the removed code would be printed at odd places.
	file.Comments = nil
	return nil
}

// dropContainer removes `var _ = Describe(text, …)` from file.
func dropContainer(file *ast.File, text string) error {
	quoted := strconv.Quote(text)
	for i, decl := range file.Decls {
		call := topLevelCall(decl, "Describe")
		if call == nil || len(call.Args) == 0 {
			continue
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Value == quoted {
			file.Decls = slices.Delete(file.Decls, i, i+1)
			file.Comments = nil
			return nil
		}
	}
	return fmt.Errorf("no Describe(%s, …) found", quoted)
}

// topLevelCall returns the call of `var _ = node(…)`, or nil when decl is not one.
func topLevelCall(decl ast.Decl, node string) *ast.CallExpr {
	gen, ok := decl.(*ast.GenDecl)
	if !ok || gen.Tok != token.VAR || len(gen.Specs) != 1 {
		return nil
	}
	spec := gen.Specs[0].(*ast.ValueSpec)
	if len(spec.Values) != 1 {
		return nil
	}
	call, ok := spec.Values[0].(*ast.CallExpr)
	if !ok {
		return nil
	}
	if fun, ok := call.Fun.(*ast.Ident); !ok || fun.Name != node {
		return nil
	}
	return call
}

// suiteNodeBody returns the body of `var _ = node(func() { … })`.
func suiteNodeBody(file *ast.File, node string) *ast.BlockStmt {
	for _, decl := range file.Decls {
		call := topLevelCall(decl, node)
		if call == nil || len(call.Args) != 1 {
			continue
		}
		if lit, ok := call.Args[0].(*ast.FuncLit); ok {
			return lit.Body
		}
	}
	return nil
}

// isNotRECluster reports whether stmt is `if !RECluster { … }`.
func isNotRECluster(stmt ast.Stmt) bool {
	ifStmt, ok := stmt.(*ast.IfStmt)
	if !ok || ifStmt.Init != nil || ifStmt.Else != nil {
		return false
	}
	not, ok := ifStmt.Cond.(*ast.UnaryExpr)
	if !ok || not.Op != token.NOT {
		return false
	}
	id, ok := not.X.(*ast.Ident)
	return ok && id.Name == "RECluster"
}

// singleDeclName returns the name a declaration declares when it declares
// exactly one: a function, or a var with one name.
func singleDeclName(decl ast.Decl) (string, bool) {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			return d.Name.Name, true
		}
	case *ast.GenDecl:
		if d.Tok != token.VAR || len(d.Specs) != 1 {
			return "", false
		}
		if spec := d.Specs[0].(*ast.ValueSpec); len(spec.Names) == 1 {
			return spec.Names[0].Name, true
		}
	}
	return "", false
}
