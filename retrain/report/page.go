package report

import (
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"moodfood/retrain"
	"moodfood/trigger"
)

// maxTableRows bounds the rows of each chart's data table and of the runs
// table (the newest are kept).
const maxTableRows = 50

// Page writes the dashboard for d as one self-contained HTML document: no
// script, and no external stylesheet, font or image, so the same bytes
// work served (GET /dashboard) and as a file opened offline (cronjob report
// --html). Every chart is an inline SVG with a title, a description and a
// data table as text alternatives; the layout is one column on a phone and
// a grid on a laptop.
func Page(w io.Writer, d *Data) error {
	return pageTmpl.Execute(w, newView(d))
}

// view is what the template reads.
type view struct {
	D        *Data
	Title    string
	Facts    [][2]string
	Charts   []chartView
	Confused []confusion
	Backups  []backupRow
	Runs     []Row
	RunsNote string
	Header   []string
	Canary   [][2]string
	Shadow   [][2]string
	Serving  bool
}

type chartView struct {
	Chart
	SVG    template.HTML
	Legend []legendItem
	Table  [][]string
	Head   []string
	More   int
}

type legendItem struct{ Name, Color string }

type confusion struct {
	True, Pred string
	Count      int
}

type backupRow struct {
	Version, Created, Size, Accuracy, Run string
	Deployed                              bool
}

func newView(d *Data) *view {
	v := &view{D: d, Title: cmpOr(d.Title, "moodfood"), Header: RowHeader}
	v.Facts = facts(d)
	for _, c := range Charts(d) {
		cv := chartView{Chart: c, SVG: template.HTML(RenderSVG(&c))}
		for i, s := range c.Series {
			cv.Legend = append(cv.Legend, legendItem{s.Name, Palette[i%len(Palette)]})
		}
		cv.Head, cv.Table, cv.More = dataTable(&c)
		v.Charts = append(v.Charts, cv)
	}
	if r := deployRecord(d); r != nil && r.Evaluation != nil {
		for _, c := range r.Evaluation.Confusions {
			v.Confused = append(v.Confused, confusion{c.True, c.Pred, c.Count})
		}
	}
	runs := versionRun(d.Backups, d.Runs)
	for _, m := range d.Backups {
		row := backupRow{Version: string(m.Version), Created: m.Created.UTC().Format("2006-01-02 15:04"),
			Deployed: d.Deployed != nil && d.Deployed.Version == m.Version}
		var n int64
		for _, f := range m.Files {
			n += f.Size
		}
		row.Size = fmt.Sprintf("%.1f MB", float64(n)/1e6)
		if a, ok := m.Metrics["accuracy"]; ok {
			row.Accuracy = fmt.Sprintf("%.4f", a)
		}
		if r := runs[m.Version]; r != nil {
			row.Run = r.RetrainID
		}
		v.Backups = append(v.Backups, row)
	}
	start := max(0, len(d.Runs)-maxTableRows)
	for i := len(d.Runs) - 1; i >= start; i-- {
		v.Runs = append(v.Runs, RowOf(&d.Runs[i]))
	}
	if start > 0 {
		v.RunsNote = fmt.Sprintf("The newest %d of %d runs; `cronjob history` lists them all.", maxTableRows, len(d.Runs))
	}
	if s := d.Serving; s != nil {
		v.Serving = true
		if c := s.Canary; c != nil {
			v.Canary = [][2]string{
				{"canary version", string(c.Version)}, {"control version", string(c.ControlVersion)},
				{"traffic share", fmt.Sprintf("%.1f%%", 100*c.Fraction)}, {"started", c.Started.UTC().Format(time.RFC3339)},
				{"canary arm", armText(c.Canary.Queries, c.Canary.FallbackRate, c.Canary.Agreement, c.Canary.Positive, c.Canary.Negative)},
				{"control arm", armText(c.Control.Queries, c.Control.FallbackRate, c.Control.Agreement, c.Control.Positive, c.Control.Negative)},
			}
		}
		if sh := s.Shadow; sh != nil {
			v.Shadow = [][2]string{
				{"shadow version", string(sh.Version)}, {"started", sh.Started.UTC().Format(time.RFC3339)},
				{"queries seen", fmt.Sprint(sh.Queries)},
				{"disagreements", fmt.Sprintf("%d (%.1f%%)", sh.Disagreements, 100*sh.DisagreementRate)},
				{"agreement with the LLM", fmt.Sprintf("shadow %d, serving %d of %d", sh.Agreed, sh.ServingAgreed, sh.Compared)},
			}
		}
	}
	return v
}

func armText(q int64, fallback, agreement float64, pos, neg int64) string {
	return fmt.Sprintf("%d queries, %.1f%% to the LLM, %.1f%% agreement, feedback %d+ / %d-", q, 100*fallback, 100*agreement, pos, neg)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// facts are the summary's key-value lines.
func facts(d *Data) [][2]string {
	var f [][2]string
	add := func(k, v string) { f = append(f, [2]string{k, v}) }
	if m := d.Deployed; m != nil {
		desc := string(m.Version)
		if !m.Created.IsZero() {
			desc += ", deployed model created " + m.Created.UTC().Format("2006-01-02 15:04") + " UTC (" + age(d.Generated.Sub(m.Created)) + " ago)"
		}
		add("deployed", desc)
		var scores []string
		for _, k := range slices.Sorted(maps.Keys(m.Metrics)) {
			if k == "accuracy" || k == "macro_f1" || k == "micro_f1" || k == "ece" || k == "routing_threshold" || k == "routing_coverage" {
				scores = append(scores, fmt.Sprintf("%s %.4f", k, m.Metrics[k]))
			}
		}
		if len(scores) > 0 {
			add("deployed model scores", strings.Join(scores, ", "))
		}
	} else {
		add("deployed", "nothing yet")
	}
	if n := len(d.Runs); n > 0 {
		last := d.Runs[n-1]
		add("last run", fmt.Sprintf("%s %s (%s ago): %s", last.Timestamp.UTC().Format("2006-01-02 15:04"), last.Status, age(d.Generated.Sub(last.Timestamp)), last.Reason))
		counts := map[trigger.Outcome]int{}
		var lastDeploy *retrain.Record
		for i := range d.Runs {
			counts[d.Runs[i].Status]++
			if d.Runs[i].Status == trigger.OutcomeDeployed {
				lastDeploy = &d.Runs[i]
			}
		}
		var parts []string
		for _, o := range []trigger.Outcome{trigger.OutcomeDeployed, trigger.OutcomeRejected, trigger.OutcomeRolledBack, trigger.OutcomeFailed, trigger.OutcomeSkipped} {
			if counts[o] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
			}
		}
		add("runs", fmt.Sprintf("%d: %s", n, strings.Join(parts, ", ")))
		if lastDeploy != nil {
			add("last deploy", fmt.Sprintf("%s (%s ago)", lastDeploy.Timestamp.UTC().Format("2006-01-02 15:04"), age(d.Generated.Sub(lastDeploy.Timestamp))))
		}
	} else {
		add("runs", "none yet")
	}
	if d.Pending >= 0 {
		add("new samples waiting", fmt.Sprint(d.Pending))
	}
	if d.Serving != nil {
		add("serving", fmt.Sprintf("%s, %d queries since start, %d reloads, %d refused versions", cmpOr(string(d.Serving.Deployed), "no model"), d.Serving.Queries, d.Serving.Reloads, d.Serving.Refused))
		if d.Serving.Deployed != "" {
			add("routing threshold in use", fmt.Sprintf("%.4f (queries below it go to the LLM)", d.Serving.Threshold))
		}
	}
	if d.HistoryDamaged > 0 {
		add("damaged history lines", fmt.Sprint(d.HistoryDamaged))
	}
	if d.Unrecorded > 0 {
		add("runs not yet in the history", fmt.Sprintf("%d (the history could not be written, e.g. a full disk)", d.Unrecorded))
	}
	return f
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// dataTable is a chart's text alternative: its points as rows (the newest
// maxTableRows for line charts), and how many were left out.
func dataTable(c *Chart) (head []string, rows [][]string, more int) {
	if c.Kind == "bar" {
		head = append([]string{c.X.Label}, seriesNames(c)...)
		for i, cat := range c.Categories {
			row := []string{cat}
			for _, s := range c.Series {
				cell := ""
				for _, p := range s.Points {
					if int(p.X) == i {
						cell = fmt.Sprintf("%.3f", p.Y)
					}
				}
				row = append(row, cell)
			}
			rows = append(rows, row)
		}
		return head, rows, 0
	}
	head = []string{"series", c.X.Label, c.Y.Label, "note"}
	for _, s := range c.Series {
		for _, p := range s.Points {
			x := fmt.Sprintf("%.3f", p.X)
			if c.X.Time {
				x = time.Unix(int64(p.X), 0).UTC().Format("2006-01-02 15:04")
			}
			rows = append(rows, []string{s.Name, x, fmtValue(c.Y, round(p.Y)), p.Note})
		}
	}
	if len(rows) > maxTableRows {
		more = len(rows) - maxTableRows
		rows = rows[len(rows)-maxTableRows:]
	}
	return head, rows, more
}

func seriesNames(c *Chart) []string {
	var out []string
	for _, s := range c.Series {
		out = append(out, s.Name)
	}
	return out
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}: the retraining loop</title>
<style>
:root{--fg:#1b1b1b;--muted:#555;--bg:#f4f5f7;--card:#fff;--line:#d0d4da}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:1240px;margin:0 auto;padding:10px 12px}
h1{font-size:1.35rem;margin:4px 0}
h2{font-size:1.02rem;margin:0 0 6px}
p{margin:4px 0}
.muted{color:var(--muted);font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:12px;margin:12px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px;margin:0;min-width:0}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{fill:#333}
svg.chart .label{fill:#111;font-weight:600}
svg.chart .empty{fill:#666;font-style:italic}
svg.chart .grid{stroke:#e6e8eb}
svg.chart .frame,svg.chart .tick{stroke:#888}
svg.chart .diagonal{stroke:#777;stroke-dasharray:5 4}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:2px 14px;font-size:13px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.reason,td.note{min-width:14em}
dl.kv{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:3px 14px;margin:0}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
details{margin-top:6px}
summary{cursor:pointer;font-size:13px}
.problems{color:#a00020}
@media (max-width:600px){dl.kv{grid-template-columns:minmax(0,1fr)}dd{margin-bottom:6px}header,main{padding:8px}}
.dep{font-weight:700}
</style>
</head>
<body>
<header>
<h1>{{.Title}}: the retraining loop</h1>
<p class="muted">Generated {{.D.Generated.Format "2006-01-02 15:04:05"}} UTC. Markers on run charts: ● deployed, ✕ rejected by the gate, ▲ rolled back.</p>
</header>
<main>
<section class="card" aria-labelledby="summary-h">
<h2 id="summary-h">Summary</h2>
<dl class="kv">{{range .Facts}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>
{{if .D.Problems}}<ul class="problems">{{range .D.Problems}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>
<div class="cards">
{{range .Charts}}<figure class="card" id="{{.ID}}">
<figcaption><h2>{{.Title}}</h2></figcaption>
{{.SVG}}
<ul class="legend">{{range .Legend}}<li><span class="sw" style="background:{{.Color}}"></span>{{.Name}}</li>{{end}}</ul>
<p class="muted">{{.Desc}}</p>
{{if .Table}}<details><summary>Data table</summary><div class="scroll"><table><thead><tr>{{range .Head}}<th scope="col">{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Table}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table></div>{{if .More}}<p class="muted">{{.More}} older points not listed.</p>{{end}}</details>{{end}}
</figure>
{{end}}<section class="card" aria-labelledby="confused-h">
<h2 id="confused-h">Top confusions of the deployed model</h2>
{{if .Confused}}<div class="scroll"><table><thead><tr><th scope="col">true intent</th><th scope="col">predicted as</th><th scope="col">held-out samples</th></tr></thead><tbody>
{{range .Confused}}<tr><td>{{.True}}</td><td>{{.Pred}}</td><td>{{.Count}}</td></tr>
{{end}}</tbody></table></div>{{else}}<p class="muted">None recorded for the deployed model.</p>{{end}}
</section>
<section class="card" aria-labelledby="backups-h">
<h2 id="backups-h">Model versions</h2>
{{if .Backups}}<div class="scroll"><table><thead><tr><th scope="col">version</th><th scope="col">created (UTC)</th><th scope="col">size</th><th scope="col">accuracy</th><th scope="col">run</th></tr></thead><tbody>
{{range .Backups}}<tr{{if .Deployed}} class="dep"{{end}}><td>{{.Version}}{{if .Deployed}} (deployed){{end}}</td><td>{{.Created}}</td><td>{{.Size}}</td><td>{{.Accuracy}}</td><td>{{.Run}}</td></tr>
{{end}}</tbody></table></div>{{else}}<p class="muted">No model version stored yet.</p>{{end}}
</section>
<section class="card" aria-labelledby="live-h">
<h2 id="live-h">Canary and shadow</h2>
{{if not .Serving}}<p class="muted">This report was written from the root, not by a serving process: canaries and shadows live in the server (see its /dashboard).</p>
{{else}}{{if .Canary}}<dl class="kv">{{range .Canary}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>{{else}}<p>No canary running.</p>{{end}}
{{if .Shadow}}<dl class="kv">{{range .Shadow}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>{{else}}<p>No shadow model running.</p>{{end}}{{end}}
</section>
</div>
<section class="card" aria-labelledby="runs-h">
<h2 id="runs-h">Runs, newest first</h2>
{{if .Runs}}<div class="scroll"><table><thead><tr>{{range .Header}}<th scope="col">{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Runs}}<tr><td>{{.Date}}</td><td>{{.Outcome}}</td><td>{{.Samples}}</td><td>{{.Accuracy}}</td><td>{{.MacroF1}}</td><td>{{.Delta}}</td><td>{{.TrainSeconds}}</td><td>{{.Version}}</td><td class="reason">{{.Reason}}</td></tr>
{{end}}</tbody></table></div>{{if .RunsNote}}<p class="muted">{{.RunsNote}}</p>{{end}}{{else}}<p class="muted">No run yet.</p>{{end}}
</section>
</main>
</body>
</html>
`))
