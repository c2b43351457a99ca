package operator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// metricFamiliesBefore are the metric families /metrics had before it moved to
// client_golang (fdc9302): dashboards and alerts use these names, so none may go.
var metricFamiliesBefore = []string{
	"splitbft_bad_requests_total", "splitbft_batch_size", "splitbft_client_requests_total", "splitbft_dev_insecure",
	"splitbft_enclave_call_seconds", "splitbft_enclave_dead", "splitbft_enclave_inputs_total", "splitbft_enclave_steps_total",
	"splitbft_forwarded_requests_total", "splitbft_garbage_total", "splitbft_host_errors_total", "splitbft_last_executed",
	"splitbft_peer_messages_in_total", "splitbft_peer_messages_out_total", "splitbft_phase", "splitbft_queue_drops_total",
	"splitbft_rejections_total", "splitbft_requests_executed_total", "splitbft_retransmits_total", "splitbft_stable_checkpoint",
	"splitbft_state_requests_total", "splitbft_suspects_total", "splitbft_tcp_bad_hellos_total", "splitbft_tcp_client_connections",
	"splitbft_tcp_client_garbage_total", "splitbft_tcp_client_replies_total", "splitbft_tcp_client_reply_drops_total",
	"splitbft_tcp_client_requests_total", "splitbft_tcp_connected", "splitbft_tcp_dial_errors_total", "splitbft_tcp_frames_dropped_total",
	"splitbft_tcp_frames_received_total", "splitbft_tcp_frames_sent_total", "splitbft_tcp_garbage_total", "splitbft_tcp_queued",
	"splitbft_tcp_reconnects_total", "splitbft_view",
}

// metricFamiliesAdded are the families issue 17 added.
var metricFamiliesAdded = []string{
	"splitbft_view_changes_total", "splitbft_view_changes_started_total", "splitbft_state_transfers_total",
	"splitbft_checkpoint_stalls_total", "splitbft_checkpoint_stalled", "splitbft_tcp_rejected_connections_total",
	"splitbft_rate_drops_total", "splitbft_relay_drops_total", "splitbft_junk_drops_total", // budgets (SPEC §13.3 obligation 5)
	"splitbft_process_cpu_seconds_total",
	// clients sharing a connection (SPEC §13.2, attach)
	"splitbft_tcp_client_attaches_total", "splitbft_tcp_client_attach_refused_total", "splitbft_tcp_client_unattached_total",
	// clients the configuration no longer registers (SPEC §13.2)
	"splitbft_tcp_client_revoked_total", "splitbft_tcp_client_revoked_connections_total",
}

// testExposition is the /metrics text of the test node's snapshot.
func testExposition(t *testing.T) (map[string]string, []sample) {
	t.Helper()
	n := testNode(t)
	var buf bytes.Buffer
	if err := n.writeMetrics(&buf, n.withWatched(testSnapshot())); err != nil {
		t.Fatal(err)
	}
	return mustParse(t, buf.String())
}

func TestMetricNamesKept(t *testing.T) {
	types, _ := testExposition(t)
	for _, name := range append(metricFamiliesBefore, metricFamiliesAdded...) {
		if types[name] == "" {
			t.Errorf("metric family %s is missing from /metrics", name)
		}
	}
}

// TestDashboardMetricsExist checks that every metric the shipped Grafana dashboard
// queries is in the exposition (a renamed metric would leave a panel empty).
func TestDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "splitbft.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	types, _ := testExposition(t)
	name := regexp.MustCompile(`splitbft_[a-z_]+`)
	queried := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				queried++
				if !exposed(types, m) {
					t.Errorf("panel %q queries %s, which /metrics does not have", p.Title, m)
				}
			}
		}
	}
	if queried < 10 {
		t.Errorf("the dashboard queries only %d metrics", queried)
	}
}

// exposed reports whether series name belongs to a family of the exposition: the
// family itself, or a _bucket, _sum or _count series of a histogram or summary.
func exposed(types map[string]string, name string) bool {
	if types[name] != "" {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suf)
		if ok && (types[base] == "histogram" || (types[base] == "summary" && suf != "_bucket")) {
			return true
		}
	}
	return false
}

// TestMetricsHandler serves /metrics over HTTP from a node whose broker is not
// running yet: the Prometheus text format, with the phase.
func TestMetricsHandler(t *testing.T) {
	srv := httptest.NewServer(testNode(t).handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	types, samples := mustParse(t, string(body))
	if types["splitbft_phase"] != "gauge" || len(samples) < 20 {
		t.Errorf("exposition of %d samples, phase %q:\n%s", len(samples), types["splitbft_phase"], body)
	}
}
