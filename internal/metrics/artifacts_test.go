package metrics_test

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/appsign/signer/internal/metrics"
)

// exportedFamilies returns every metric family name a scrape of a serving
// replica can show (every collector exercised once).
func exportedFamilies(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	m.InitBackends("softkms")
	m.ObserveRequest("/x/Y", "OK", time.Millisecond)
	m.Signed("softkms", "k")
	m.LedgerAppend(time.Millisecond, false, nil)
	m.LedgerCommit(1, true)
	m.LedgerCheckpoint(1, nil)
	m.LedgerCheckpoint(0, errors.New("refused"))
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fams {
		out[f.GetName()] = true
	}
	return out
}

var metricNameRE = regexp.MustCompile(`\b(signer_[a-z_]+|process_[a-z_]+|go_[a-z_]+)\b`)

// TestDeployArtifactsNameExportedMetrics: every metric the alert rules and
// the Grafana dashboard query is one the service exports, so a renamed
// metric cannot leave an alert that never fires.
func TestDeployArtifactsNameExportedMetrics(t *testing.T) {
	exported := exportedFamilies(t)
	rules, err := os.ReadFile("../../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dash, err := os.ReadFile("../../deploy/grafana/signer.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var dashExprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			dashExprs = append(dashExprs, tg.Expr)
		}
	}
	seen := map[string]bool{}
	for file, text := range map[string]string{"alerts.yaml": string(rules), "signer.json": strings.Join(dashExprs, "\n")} {
		for _, name := range metricNameRE.FindAllString(text, -1) {
			family := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if f, ok := strings.CutSuffix(name, suffix); ok && exported[f] {
					family = f
				}
			}
			if !exported[family] {
				t.Errorf("%s queries %s, which the service does not export", file, name)
			}
			seen[family] = true
		}
	}
	for name := range exported {
		if strings.HasPrefix(name, "signer_") && !seen[name] {
			t.Errorf("%s is exported but neither alerted on nor on the dashboard", name)
		}
	}
}
