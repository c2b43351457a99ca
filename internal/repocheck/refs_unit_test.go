package repocheck

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sec and app are the section sign and "Appendix", spelled so that this file cites
// nothing itself.
const sec, app = "\u00a7", "App" + "endix"

// TestCheckFindsBadCitations runs refs and check on small texts against a small
// document: each case lists the problems expected, by line.
func TestCheckFindsBadCitations(t *testing.T) {
	docs := map[string]map[string]heading{
		"SPEC":   headings("# T\n## 2. CBOR\n### 2.3 Strict\n### 13.2 Wire\n### 13.3 Obligations (numbered)\n1. init\n2. route\n3. table\n8. deliver\n## Appendix B. Diff\n"),
		"DESIGN": headings("# D\n## 5. Keys\n"),
	}
	cases := []struct {
		name, text, self string
		refs             int
		bad              []int // lines of the citations that must not resolve
	}{
		{"resolves", "x (SPEC " + sec + "2.3) and SPEC.md " + sec + "2 and " + sec + "13.3 obligation 8", "SPEC", 3, nil},
		{"missing section", "see SPEC " + sec + "2.4\nand " + sec + "9", "SPEC", 2, []int{1, 2}},
		{"design", "DESIGN " + sec + "5, DESIGN.md " + sec + "4", "SPEC", 2, []int{1}},
		{"bare in design", sec + "5 and " + sec + "2.3", "DESIGN", 2, []int{1}},
		{"across comment lines", "// (DESIGN.md\n// " + sec + "2.3)", "SPEC", 1, []int{2}},
		{"obligation after", "SPEC " + sec + "13.2 obligation 4", "SPEC", 1, []int{1}},
		{"obligation before", "obligations 2 and 3 of SPEC.md " + sec + "13.2", "SPEC", 1, []int{1}},
		{"obligation numbers", "SPEC " + sec + "13.3 obligations 2 and 3\nobligation 9 of " + sec + "13.3\n" + sec + "13.3 obligation 0", "SPEC", 3, []int{2, 3}},
		{"other documents", "RFC 8949 " + sec + "4.2.1, RFC 8949 " + app + " A, SPEC " + sec + " 2", "SPEC", 1, nil},
		{"appendix", "SPEC.md " + app + " B, SPEC " + app + " C", "SPEC", 2, []int{1}},
	}
	for _, tc := range cases {
		rs := refs(tc.text, tc.self)
		if len(rs) != tc.refs {
			t.Errorf("%s: %d citations %+v, want %d", tc.name, len(rs), rs, tc.refs)
			continue
		}
		var bad []int
		for _, r := range rs {
			if why := check(r, docs); why != "" {
				bad = append(bad, r.Line)
			}
		}
		if d := cmp.Diff(tc.bad, bad); d != "" {
			t.Errorf("%s: lines of unresolved citations (-want +got):\n%s", tc.name, d)
		}
	}
}
