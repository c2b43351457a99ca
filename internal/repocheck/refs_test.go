package repocheck

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A heading is a numbered section of a document: "2.3" for "### 2.3 Strict
// decoding", "A" for "## Appendix A. Conformance".
type heading struct {
	title string
	items int // the highest number of a numbered list item ("6. …") in its text
}

// headingRe matches a Markdown heading that starts with a section number or an
// appendix letter.
var headingRe = regexp.MustCompile(`(?m)^#{1,6} +(?:(\d+(?:\.\d+)*)\.?|Appendix ([A-Z])\.?) +(.*)$`)

// itemRe matches a numbered list item at the start of a line.
var itemRe = regexp.MustCompile(`(?m)^(\d+)\. `)

// anyHeadingRe matches any Markdown heading, where a section's text ends.
var anyHeadingRe = regexp.MustCompile(`(?m)^#{1,6} `)

// headings returns the numbered headings of a Markdown document by number.
func headings(doc string) map[string]heading {
	hs := map[string]heading{}
	for _, m := range headingRe.FindAllStringSubmatchIndex(doc, -1) {
		body := doc[m[1]:]
		if end := anyHeadingRe.FindStringIndex(body); end != nil {
			body = body[:end[0]]
		}
		h := heading{title: sub(doc, m, 3)}
		for _, it := range itemRe.FindAllStringSubmatch(body, -1) {
			n, _ := strconv.Atoi(it[1])
			h.items = max(h.items, n)
		}
		hs[sub(doc, m, 1)+sub(doc, m, 2)] = h
	}
	return hs
}

func sub(s string, m []int, i int) string {
	if m[2*i] < 0 {
		return ""
	}
	return s[m[2*i]:m[2*i+1]]
}

// citeRe matches one citation: an optional document name (possibly on the line
// before, behind a comment marker), then § and a section number, or "Appendix X" of
// a named document. "obligation N of" before it or "obligation(s)" after it is part
// of the match, so that check can tell an obligation citation.
var citeRe = regexp.MustCompile(`(?:\bobligations?[ \t]+\d+(?:(?:,[ \t]*|[ \t]+and[ \t]+)\d+)*[ \t]+of[ \t]+)?(?:\b(SPEC|DESIGN|RFC ?\d+)(?:\.md)?(?:[ \t]*\n?[ \t]*(?://|#)?[ \t]*))?(?:§ ?(\d+(?:\.\d+)*)|\b[Aa]ppendix ([A-Z])\b)([ \t]+obligations?(?:[ \t]+\d+(?:(?:,[ \t]*|[ \t]+and[ \t]+)\d+)*)?)?`)

// A ref is one resolved or unresolved citation.
type ref struct {
	Line int    // 1-based line of the § (or "Appendix")
	Doc  string // "SPEC" or "DESIGN"
	Num  string // "2.3", "5", "A"
	Text string // the citation as written
}

// refs returns the citations of one file's text. self is the document a bare § of
// this file cites: "DESIGN" inside docs/DESIGN.md, "SPEC" everywhere else. Citations
// of other documents (RFC 8949 §4.2.1) and an "Appendix X" with no document name
// are not returned.
func refs(text, self string) []ref {
	var out []ref
	for _, m := range citeRe.FindAllStringSubmatchIndex(text, -1) {
		doc, num, app := sub(text, m, 1), sub(text, m, 2), sub(text, m, 3)
		if strings.HasPrefix(doc, "RFC") || (app != "" && doc == "") {
			continue
		}
		if doc == "" {
			doc = self
		}
		at := m[4]
		if app != "" {
			at, num = m[6], app
		}
		out = append(out, ref{Line: 1 + strings.Count(text[:at], "\n"), Doc: doc, Num: num, Text: strings.TrimSpace(text[m[0]:m[1]])})
	}
	return out
}

// check returns why r does not resolve in docs (headings by document name), or "".
// A citation of obligations must cite the heading that lists the broker's
// obligations, and each obligation number must be an item of its list.
func check(r ref, docs map[string]map[string]heading) string {
	h, ok := docs[r.Doc][r.Num]
	if !ok {
		return fmt.Sprintf("%q: %s has no section %s", r.Text, r.Doc, r.Num)
	}
	if !strings.Contains(r.Text, "obligation") {
		return ""
	}
	if !strings.HasPrefix(h.title, "Obligations") {
		return fmt.Sprintf("%q: %s §%s is %q, not the obligations", r.Text, r.Doc, r.Num, h.title)
	}
	for _, n := range obligationNums(r) {
		if n < 1 || n > h.items {
			return fmt.Sprintf("%q: %s §%s lists obligations 1 to %d", r.Text, r.Doc, r.Num, h.items)
		}
	}
	return ""
}

// numRe matches a decimal number.
var numRe = regexp.MustCompile(`\d+`)

// obligationNums returns the obligation numbers a citation names: the numbers of its
// text once the section number is taken out.
func obligationNums(r ref) []int {
	var ns []int
	for _, s := range numRe.FindAllString(strings.Replace(r.Text, r.Num, "", 1), -1) {
		n, _ := strconv.Atoi(s)
		ns = append(ns, n)
	}
	return ns
}
