package operator

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sample is one parsed exposition sample.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	helpRe   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$`)
	typeRe   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$`)
	sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$`)
	labelRe  = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"`)
)

// parseExposition parses the text format strictly enough to catch what Prometheus
// would reject: every sample belongs to the family declared just before it (with the
// suffixes its type allows), HELP precedes TYPE, no family or series repeats, label
// syntax and escapes are valid, values parse, and every histogram's buckets are
// cumulative with +Inf equal to _count.
func parseExposition(text string) (map[string]string, []sample, error) {
	types := map[string]string{}
	var samples []sample
	var family, typ string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := helpRe.FindStringSubmatch(line); m != nil {
			if _, dup := types[m[1]]; dup {
				return nil, nil, fmt.Errorf("line %d: family %s declared twice", n, m[1])
			}
			family, typ, types[m[1]] = m[1], "", ""
			continue
		}
		if m := typeRe.FindStringSubmatch(line); m != nil {
			if m[1] != family || typ != "" {
				return nil, nil, fmt.Errorf("line %d: TYPE %s without its HELP just before", n, m[1])
			}
			typ, types[family] = m[2], m[2]
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %v", n, err)
		}
		if typ == "" || !sampleOf(s.name, family, typ) {
			return nil, nil, fmt.Errorf("line %d: sample %s outside its family (%s %s)", n, s.name, family, typ)
		}
		key := s.name + fmt.Sprint(s.labels)
		if seen[key] {
			return nil, nil, fmt.Errorf("line %d: series %s repeated", n, key)
		}
		seen[key] = true
		samples = append(samples, s)
	}
	return types, samples, checkHistograms(types, samples)
}

// mustParse parses an exposition or fails the test.
func mustParse(t *testing.T, text string) (map[string]string, []sample) {
	t.Helper()
	types, samples, err := parseExposition(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return types, samples
}

func parseSample(line string) (sample, error) {
	m := sampleRe.FindStringSubmatch(line)
	if m == nil {
		return sample{}, fmt.Errorf("not a sample: %q", line)
	}
	s := sample{name: m[1], labels: map[string]string{}}
	if l := m[2]; l != "" {
		rest := l[1 : len(l)-1]
		for rest != "" {
			lm := labelRe.FindStringSubmatch(rest)
			if lm == nil {
				return sample{}, fmt.Errorf("bad labels %q", l)
			}
			s.labels[lm[1]] = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n").Replace(lm[2])
			rest = strings.TrimPrefix(rest[len(lm[0]):], ",")
		}
	}
	v, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return sample{}, fmt.Errorf("value %q: %v", m[3], err)
	}
	s.value = v
	return s, nil
}

func sampleOf(name, family, typ string) bool {
	switch typ {
	case "histogram":
		return name == family+"_bucket" || name == family+"_sum" || name == family+"_count"
	case "summary":
		return name == family || name == family+"_sum" || name == family+"_count"
	}
	return name == family
}

// histSeries is one histogram series as parsed: bucket bounds and counts in order.
type histSeries struct {
	les, counts []float64
	count       float64 // _count; -1 until seen
}

// histogramSeries groups the bucket and _count samples of every histogram by series
// (family and labels other than le).
func histogramSeries(types map[string]string, samples []sample) (map[string]*histSeries, error) {
	all := map[string]*histSeries{}
	for _, s := range samples {
		base := strings.TrimSuffix(strings.TrimSuffix(s.name, "_bucket"), "_count")
		if types[base] != "histogram" || base == s.name {
			continue
		}
		l := maps.Clone(s.labels)
		delete(l, "le")
		k := base + fmt.Sprint(l)
		if all[k] == nil {
			all[k] = &histSeries{count: -1}
		}
		if strings.HasSuffix(s.name, "_count") {
			all[k].count = s.value
			continue
		}
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: le %q", s.name, s.labels["le"])
		}
		all[k].les, all[k].counts = append(all[k].les, le), append(all[k].counts, s.value)
	}
	return all, nil
}

// checkHistograms checks every histogram series: le ascending, counts cumulative,
// +Inf present and equal to _count.
func checkHistograms(types map[string]string, samples []sample) error {
	all, err := histogramSeries(types, samples)
	if err != nil {
		return err
	}
	for k, sr := range all {
		for i := 1; i < len(sr.les); i++ {
			if sr.les[i] <= sr.les[i-1] || sr.counts[i] < sr.counts[i-1] {
				return fmt.Errorf("%s: buckets not ascending and cumulative: %v %v", k, sr.les, sr.counts)
			}
		}
		if len(sr.les) == 0 || !math.IsInf(sr.les[len(sr.les)-1], 1) || sr.counts[len(sr.counts)-1] != sr.count {
			return fmt.Errorf("%s: +Inf bucket missing or not equal to _count %v: %v %v", k, sr.count, sr.les, sr.counts)
		}
	}
	return nil
}

func TestExposition(t *testing.T) {
	h := NewHistogram([]float64{0.001, 0.01, 0.1})
	for _, v := range []float64{0.0005, 0.001, 0.002, 0.5, 3} {
		h.Observe(v)
	}
	var buf bytes.Buffer
	e := NewExposition(&buf)
	e.Family("x_seconds", "histogram", "a help\nwith a newline and a \\")
	e.Histogram("x_seconds", h.Snapshot(), Label{"who", `a "quoted" \ name` + "\n"})
	e.Single("x_total", "counter", "a counter", 12)
	e.Single("x_inf", "gauge", "a gauge", math.Inf(1))
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	types, samples := mustParse(t, buf.String())
	if types["x_seconds"] != "histogram" || types["x_total"] != "counter" {
		t.Fatalf("types %v", types)
	}
	want := map[string]float64{"0.001": 2, "0.01": 3, "0.1": 3, "+Inf": 5}
	for _, s := range samples {
		if s.name == "x_seconds_bucket" {
			if s.labels["who"] != `a "quoted" \ name`+"\n" || s.value != want[s.labels["le"]] {
				t.Errorf("bucket %v = %v, want %v", s.labels, s.value, want[s.labels["le"]])
			}
		}
		if s.name == "x_seconds_sum" && math.Abs(s.value-3.5035) > 1e-9 {
			t.Errorf("sum %v, want 3.5035", s.value)
		}
	}
	if !strings.Contains(buf.String(), "x_inf +Inf\n") || !strings.Contains(buf.String(), `# HELP x_seconds a help\nwith a newline and a \\`) {
		t.Errorf("exposition:\n%s", buf.String())
	}
}

func TestExpositionRejectsBadText(t *testing.T) {
	// The parser itself must catch what it claims to.
	for _, bad := range []string{
		"x 1\n", // sample without a family
		"# HELP x h\n# TYPE x counter\nx{a=b} 1\n",                                                   // unquoted label
		"# HELP x h\n# TYPE x counter\nx 1\nx 2\n",                                                   // repeated series
		"# HELP x h\n# TYPE x histogram\nx_bucket{le=\"1\"} 2\nx_bucket{le=\"+Inf\"} 1\nx_count 1\n", // not cumulative
		"# HELP x h\n# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_count 1\n",                          // no +Inf
	} {
		if _, _, err := parseExposition(bad); err == nil {
			t.Errorf("the parser accepted %q", bad)
		}
	}
}
