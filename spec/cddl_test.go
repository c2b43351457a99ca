package spec

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// A parser for the subset of CDDL used by wire.cddl:
//
//	rule   = name "=" type
//	type   = "[" "*" type "]" | "[" entry { "," entry } [","] "]"
//	       | "bstr" [".size" number] | "uint" | "bool" | name
//	entry  = name ":" type
//
// Comments run from ";" to the end of the line.

// cddlRule is one rule: a struct (fields non-nil) or an alias (typ set).
type cddlRule struct {
	name   string
	fields []cddlField
	typ    string
}

type cddlField struct{ name, typ string }

type cddlParser struct {
	toks []string
	pos  int
}

func tokenizeCDDL(src string) []string {
	var toks []string
	for _, line := range strings.Split(src, "\n") {
		line, _, _ = strings.Cut(line, ";")
		for _, c := range "[]:,=*" {
			line = strings.ReplaceAll(line, string(c), " "+string(c)+" ")
		}
		toks = append(toks, strings.Fields(line)...)
	}
	return toks
}

func (p *cddlParser) next() string {
	if p.pos >= len(p.toks) {
		return ""
	}
	p.pos++
	return p.toks[p.pos-1]
}

func (p *cddlParser) peek() string {
	if p.pos >= len(p.toks) {
		return ""
	}
	return p.toks[p.pos]
}

func (p *cddlParser) expect(tok string) error {
	if got := p.next(); got != tok {
		return fmt.Errorf("token %d: got %q, want %q", p.pos, got, tok)
	}
	return nil
}

func validCDDLName(s string) bool {
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// parseCDDL parses a whole file into rules, in order.
func parseCDDL(src string) ([]cddlRule, error) {
	p := &cddlParser{toks: tokenizeCDDL(src)}
	var rules []cddlRule
	for p.peek() != "" {
		r := cddlRule{name: p.next()}
		if !validCDDLName(r.name) {
			return nil, fmt.Errorf("bad rule name %q", r.name)
		}
		if err := p.expect("="); err != nil {
			return nil, fmt.Errorf("rule %s: %v", r.name, err)
		}
		var err error
		if p.peek() == "[" && p.pos+1 < len(p.toks) && p.toks[p.pos+1] != "*" {
			r.fields, err = p.parseEntries()
		} else {
			r.typ, err = p.parseType()
		}
		if err != nil {
			return nil, fmt.Errorf("rule %s: %v", r.name, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// parseEntries parses "[ name: type, ... ]".
func (p *cddlParser) parseEntries() ([]cddlField, error) {
	fields := []cddlField{}
	p.next() // "["
	for p.peek() != "]" {
		f := cddlField{name: p.next()}
		if !validCDDLName(f.name) {
			return nil, fmt.Errorf("bad field name %q", f.name)
		}
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		var err error
		if f.typ, err = p.parseType(); err != nil {
			return nil, fmt.Errorf("field %s: %v", f.name, err)
		}
		fields = append(fields, f)
		if p.peek() != "]" {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
	}
	p.next() // "]"
	return fields, nil
}

// parseType returns a type in canonical text: "uint", "bool", "bstr", "bstr .size N",
// "[* T]" or a rule name.
func (p *cddlParser) parseType() (string, error) {
	switch t := p.next(); {
	case t == "[":
		if err := p.expect("*"); err != nil {
			return "", err
		}
		elem, err := p.parseType()
		if err != nil {
			return "", err
		}
		return "[* " + elem + "]", p.expect("]")
	case t == "bstr" && p.peek() == ".size":
		p.next()
		n := p.next()
		if strings.Trim(n, "0123456789") != "" || n == "" {
			return "", fmt.Errorf("bad size %q", n)
		}
		return "bstr .size " + n, nil
	case validCDDLName(t):
		return t, nil
	default:
		return "", fmt.Errorf("unexpected token %q", t)
	}
}

// resolveCDDL replaces alias names in typ by their definitions, recursively; struct
// rule names are kept.
func resolveCDDL(typ string, rules map[string]cddlRule) string {
	if strings.HasPrefix(typ, "[* ") {
		return "[* " + resolveCDDL(strings.TrimSuffix(strings.TrimPrefix(typ, "[* "), "]"), rules) + "]"
	}
	if r, ok := rules[typ]; ok && r.fields == nil {
		return resolveCDDL(r.typ, rules)
	}
	return typ
}

// goCDDLType returns the CDDL type a Go type encodes as, with aliases resolved.
func goCDDLType(t reflect.Type) (string, error) {
	switch {
	case t.Kind() == reflect.Uint64:
		return "uint", nil
	case t.Kind() == reflect.Bool:
		return "bool", nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return "bstr", nil
	case t.Kind() == reflect.Array && t.Elem().Kind() == reflect.Uint8:
		return fmt.Sprintf("bstr .size %d", t.Len()), nil
	case t.Kind() == reflect.Struct:
		return kebab(t.Name()), nil
	case t.Kind() == reflect.Slice:
		elem, err := goCDDLType(t.Elem())
		return "[* " + elem + "]", err
	}
	return "", fmt.Errorf("Go type %s has no CDDL mapping", t)
}

func normField(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }

// checkCDDL compares the rules with the Go struct types and the named byte-array
// types, and returns every mismatch.
func checkCDDL(rules []cddlRule, structs, named []reflect.Type) []string {
	byName := map[string]cddlRule{}
	var bad []string
	for _, r := range rules {
		if _, dup := byName[r.name]; dup {
			bad = append(bad, "duplicate rule "+r.name)
		}
		byName[r.name] = r
	}
	used := map[string]bool{"role": true}
	for _, t := range named {
		used[kebab(t.Name())] = true
		want, _ := goCDDLType(t)
		if got := resolveCDDL(kebab(t.Name()), byName); got != want {
			bad = append(bad, fmt.Sprintf("%s: rule %s is %q, want %q", t.Name(), kebab(t.Name()), got, want))
		}
	}
	for _, t := range structs {
		used[kebab(t.Name())] = true
		bad = append(bad, checkStruct(t, byName)...)
	}
	for _, r := range rules {
		if !used[r.name] {
			bad = append(bad, "rule "+r.name+" matches no Go type")
		}
	}
	return bad
}

// checkStruct compares one struct with its rule: count, order, names and types.
func checkStruct(t reflect.Type, rules map[string]cddlRule) []string {
	r, ok := rules[kebab(t.Name())]
	if !ok || r.fields == nil {
		return []string{fmt.Sprintf("%s: no array rule %s", t.Name(), kebab(t.Name()))}
	}
	var fields []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.Name != "_" {
			fields = append(fields, f)
		}
	}
	if len(fields) != len(r.fields) {
		return []string{fmt.Sprintf("%s: %d Go fields, rule %s has %d", t.Name(), len(fields), r.name, len(r.fields))}
	}
	var bad []string
	for i, f := range fields {
		cf := r.fields[i]
		if normField(f.Name) != normField(cf.name) {
			bad = append(bad, fmt.Sprintf("%s field %d: Go %s, CDDL %s", t.Name(), i, f.Name, cf.name))
		}
		want, err := goCDDLType(f.Type)
		if got := resolveCDDL(cf.typ, rules); err != nil || got != want {
			bad = append(bad, fmt.Sprintf("%s.%s: CDDL type %q (%q), Go type %s wants %q %v", t.Name(), f.Name, cf.typ, got, f.Type, want, err))
		}
	}
	return bad
}

// namedByteArrays are the package's named non-struct types, each with its own rule.
var namedByteArrays = []reflect.Type{
	reflect.TypeOf(Digest{}), reflect.TypeOf(PublicKey{}), reflect.TypeOf(Signature{}), reflect.TypeOf(Nonce{}),
}

func wireStructTypes() []reflect.Type {
	var ts []reflect.Type
	for _, w := range wireTypes() {
		ts = append(ts, reflect.TypeOf(w.example).Elem())
	}
	return ts
}

func readCDDL(t *testing.T) []cddlRule {
	t.Helper()
	src, err := os.ReadFile("wire.cddl")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseCDDL(string(src))
	if err != nil {
		t.Fatalf("wire.cddl: %v", err)
	}
	return rules
}

// TestCDDLMatchesGoTypes ties wire.cddl to the Go types: one rule per type, same
// field count, order, names (case-insensitive, dashes removed) and types.
func TestCDDLMatchesGoTypes(t *testing.T) {
	rules := readCDDL(t)
	for _, problem := range checkCDDL(rules, wireStructTypes(), namedByteArrays) {
		t.Error(problem)
	}
	byName := map[string]cddlRule{}
	for _, r := range rules {
		byName[r.name] = r
	}
	if got := resolveCDDL("role", byName); got != "uint" { // Role is an alias: reflect cannot see it
		t.Errorf("rule role is %q, want uint", got)
	}
}

// TestCDDLCheckerDetects shows that the checker reports each kind of drift, by
// editing the real rules.
func TestCDDLCheckerDetects(t *testing.T) {
	edits := []struct {
		name string
		edit func(rules []cddlRule) []cddlRule
	}{
		{"field removed", func(rs []cddlRule) []cddlRule {
			return editRule(rs, "slot", func(r *cddlRule) { r.fields = r.fields[:3] })
		}},
		{"field added", func(rs []cddlRule) []cddlRule {
			return editRule(rs, "status", func(r *cddlRule) { r.fields = append(r.fields, cddlField{"extra", "uint"}) })
		}},
		{"fields swapped", func(rs []cddlRule) []cddlRule {
			return editRule(rs, "reply", func(r *cddlRule) { r.fields[0], r.fields[1] = r.fields[1], r.fields[0] })
		}},
		{"field renamed", func(rs []cddlRule) []cddlRule {
			return editRule(rs, "config", func(r *cddlRule) { r.fields[2].name = "m" })
		}},
		{"wrong type", func(rs []cddlRule) []cddlRule {
			return editRule(rs, "prepare", func(r *cddlRule) { r.fields[1].typ = "digest" })
		}},
		{"wrong size", func(rs []cddlRule) []cddlRule {
			return editRule(rs, "nonce", func(r *cddlRule) { r.typ = "bstr .size 32" })
		}},
		{"slice elem", func(rs []cddlRule) []cddlRule {
			return editRule(rs, "batch", func(r *cddlRule) { r.fields[0].typ = "[* request-body]" })
		}},
		{"rule missing", func(rs []cddlRule) []cddlRule { return rs[1:] }},
		{"stray rule", func(rs []cddlRule) []cddlRule { return append(rs, cddlRule{name: "stray", typ: "uint"}) }},
	}
	for _, e := range edits {
		rules := e.edit(readCDDL(t))
		if len(checkCDDL(rules, wireStructTypes(), namedByteArrays)) == 0 {
			t.Errorf("%s: checker reported nothing", e.name)
		}
	}
	if _, err := parseCDDL("a = [ x: uint y: uint ]"); err == nil {
		t.Error("parser accepted a missing comma")
	}
	if _, err := parseCDDL("a = bstr .size x"); err == nil {
		t.Error("parser accepted a bad size")
	}
}

func editRule(rules []cddlRule, name string, f func(*cddlRule)) []cddlRule {
	for i := range rules {
		if rules[i].name == name {
			r := rules[i]
			r.fields = append([]cddlField{}, r.fields...)
			f(&r)
			rules[i] = r
		}
	}
	return rules
}

// TestWireTypesComplete parses the package source and checks that every struct type
// it declares is listed in wireTypes, so the CDDL and golden tests cover it.
func TestWireTypesComplete(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	var declared []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if _, isStruct := ts.Type.(*ast.StructType); isStruct && ts.Name.IsExported() && !notWire[ts.Name.Name] {
					declared = append(declared, ts.Name.Name)
				}
			}
			return true
		})
	}
	listed := map[string]bool{}
	for _, w := range wireTypes() {
		if notWire[w.name] {
			t.Errorf("%s is listed both as a wire type and as not one", w.name)
		}
		listed[w.name] = true
		if got := reflect.TypeOf(w.example).Elem().Name(); got != w.name {
			t.Errorf("wireTypes entry %s holds a %s", w.name, got)
		}
	}
	sort.Strings(declared)
	for _, name := range declared {
		if !listed[name] {
			t.Errorf("struct %s is not in wireTypes (examples_test.go)", name)
		}
	}
	if len(declared) != len(listed) {
		t.Errorf("%d structs declared, %d listed", len(declared), len(listed))
	}
}

// notWire names the exported structs of package spec that are never encoded: metadata
// about the wire, not part of it.
// Step is the union of two wire types (chain-step in wire.cddl), with no encoding
// of its own.
var notWire = map[string]bool{"KindInfo": true, "Step": true}
