package report_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"moodfood/retrain/report"
)

// chromium returns the path of a Chromium or Chrome binary, or skips the
// test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium installed (Debian package chromium)")
	return ""
}

// chartInfo is what the page reports about one chart.
type chartInfo struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	SVG    bool   `json:"svg"`
	SVGT   string `json:"svgTitle"`
	Desc   string `json:"desc"`
	Points int    `json:"points"`
	Label  string `json:"label"`
}

// pageInfo is what the test reads from the rendered page.
type pageInfo struct {
	Charts      []chartInfo `json:"charts"`
	ScrollWidth int         `json:"scrollWidth"`
	InnerWidth  int         `json:"innerWidth"`
	Wide        []string    `json:"wide"`
}

const inspectJS = `(() => {
  const charts = [...document.querySelectorAll('figure.card')].map(f => {
    const svg = f.querySelector('svg');
    return {
      id: f.id,
      title: (f.querySelector('figcaption h2') || {}).textContent || '',
      svg: !!svg,
      svgTitle: svg && svg.querySelector('title') ? svg.querySelector('title').textContent : '',
      desc: svg && svg.querySelector('desc') ? svg.querySelector('desc').textContent : '',
      points: svg ? svg.querySelectorAll('.pt').length : 0,
      label: svg ? (svg.getAttribute('aria-labelledby') || '') : '',
    };
  });
  const w = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > w + 1)
    .slice(0, 5).map(e => e.tagName + '.' + e.className);
  return {charts, scrollWidth: document.documentElement.scrollWidth, innerWidth: w, wide};
})()`

// TestPage_Browser renders the fixture's dashboard in headless Chromium at
// a phone's and a laptop's width: no console error or exception (the page's
// own CSP turns any external load into one), every chart present with its
// title, description and at least one data point, no horizontal overflow
// outside the scrolling tables, and a full-page screenshot per width under
// the test's temp dir.
func TestPage_Browser(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "dashboard.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Page(f, fixture()); err != nil {
		t.Fatal(err)
	}
	f.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
	}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	// Subscribe to the console (this starts the browser) before loading.
	cctx, stopConsole := context.WithCancel(ctx)
	var problems []string
	consoleDone := make(chan struct{})
	msgs := chromedp.Console(cctx)
	go func() {
		defer close(consoleDone)
		for m, err := range msgs {
			if err != nil {
				if cctx.Err() == nil {
					problems = append(problems, "console: "+err.Error())
				}
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				problems = append(problems, m.String()+" "+m.URL)
			}
		}
	}()
	for _, width := range []int64{390, 1280} {
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate("file://"+page),
			chromedp.WaitReady(chromedp.CSS("main")),
		)
		if err != nil {
			t.Fatalf("width %d: %v", width, err)
		}
		info, err := chromedp.Run(ctx, chromedp.Evaluate[pageInfo](inspectJS))
		if err != nil {
			t.Fatalf("width %d: inspecting the page: %v", width, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
		if err != nil {
			t.Fatalf("width %d: screenshot: %v", width, err)
		}
		if len(info.Charts) != 6 {
			t.Errorf("width %d: %d charts, want 6", width, len(info.Charts))
		}
		for _, c := range info.Charts {
			if !c.SVG || c.Title == "" || c.SVGT != c.Title || c.Desc == "" || c.Points < 1 || !strings.Contains(c.Label, c.ID+"-title") {
				t.Errorf("width %d: chart %+v: want an SVG with its title, a description and at least one data point", width, c)
			}
		}
		if info.ScrollWidth > info.InnerWidth || len(info.Wide) > 0 {
			t.Errorf("width %d: the page overflows horizontally (scroll width %d > %d, elements %v)", width, info.ScrollWidth, info.InnerWidth, info.Wide)
		}
		out := filepath.Join(dir, fmt.Sprintf("dashboard-%d.jpg", width))
		if d := os.Getenv("MOODFOOD_SCREENSHOT_DIR"); d != "" {
			out = filepath.Join(d, fmt.Sprintf("dashboard-%d.jpg", width))
		}
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", out, len(shot))
	}
	time.Sleep(200 * time.Millisecond) // let late console messages arrive
	stopConsole()
	<-consoleDone
	if len(problems) > 0 {
		t.Errorf("console errors or warnings:\n%s", strings.Join(problems, "\n"))
	}
}
