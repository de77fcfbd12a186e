package app

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeMetrics writes n steps of a rising reward and a constant series, as `train rl` does.
func writeMetrics(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"step":%d,"reward_mean":%g,"clip_frac":0,"note":"text is skipped"}`+"\n", i, float64(i)/float64(n))
	}
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPlotMetricsSparkline(t *testing.T) {
	path := writeMetrics(t, 16)
	var out bytes.Buffer
	if err := PlotMetrics(&out, []string{path}, []string{"reward_mean", "clip_frac"}, 8); err != nil {
		t.Fatal(err)
	}
	// Pairs of a straight line average onto a straight line: one level a column. A flat series
	// sits mid-height.
	want := "16 steps, 2 per column\nreward_mean ▁▂▃▄▅▆▇█  first 0.0938  min 0.0938  max 0.969  last 0.969\n" +
		"clip_frac   ▅▅▅▅▅▅▅▅  first 0  min 0  max 0  last 0\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// The PNG has one panel per series, dark lines on white, and replaces an older file whole.
func TestPlotMetricsPNG(t *testing.T) {
	for _, n := range []int{1, 40} { // one step: a flat axis range must not break the drawing
		path := writeMetrics(t, n)
		out := filepath.Join(t.TempDir(), "rl.png")
		if err := os.WriteFile(out, []byte("an older chart"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := PlotMetricsPNG([]string{path}, []string{"reward_mean", "clip_frac", "step"}, out); err != nil {
			t.Fatalf("%d steps: %v", n, err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%d steps: not a PNG: %v", n, err)
		}
		b := img.Bounds()
		if b.Dx() != 960 || b.Dy() != 2*264 { // 2 columns of 4 in, 2 rows of 2.2 in, 120 dpi
			t.Fatalf("%d steps: %v, want 960×528", n, b)
		}
		if dark := darkPixels(t, out); dark < 1000 {
			t.Fatalf("%d steps: only %d dark pixels: nothing drawn", n, dark)
		}
		if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
			t.Fatalf("%d steps: %d files beside the chart, want none", n, len(ents)-1)
		}
	}
}

// Stages chart one after another: the terminal line runs on, the PNG draws their starts.
func TestPlotMetricsStages(t *testing.T) {
	a, b := writeMetrics(t, 8), writeMetrics(t, 8)
	var out bytes.Buffer
	if err := PlotMetrics(&out, []string{a, b}, []string{"reward_mean"}, 16); err != nil {
		t.Fatal(err)
	}
	if want := "16 steps, 1 per column\nreward_mean ▁▂▃▄▅▆▇█▁▂▃▄▅▆▇█"; !strings.HasPrefix(out.String(), want) {
		t.Fatalf("got\n%s\nwant it to start\n%s", out.String(), want)
	}
	one, two := filepath.Join(t.TempDir(), "one.png"), filepath.Join(t.TempDir(), "two.png")
	if err := PlotMetricsPNG([]string{a}, []string{"reward_mean", "clip_frac"}, one); err != nil {
		t.Fatal(err)
	}
	if err := PlotMetricsPNG([]string{a, b}, []string{"reward_mean", "clip_frac"}, two); err != nil {
		t.Fatal(err)
	}
	if darkPixels(t, two) <= darkPixels(t, one) {
		t.Fatal("two stages drew no more than one: no line where the second starts")
	}
}

func TestPlotMetricsErrorsNameTheFile(t *testing.T) {
	path := writeMetrics(t, 3)
	out := filepath.Join(t.TempDir(), "rl.png")
	err := PlotMetricsPNG([]string{path}, []string{"reward_mean", "nope"}, out)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `no series "nope" (it has: clip_frac, reward_mean, step)`) {
		t.Fatalf("unknown series: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a failed chart left a file")
	}
	before, _ := os.ReadFile(path)
	if err := PlotMetricsPNG([]string{path}, []string{"step"}, path); err == nil || !strings.Contains(err.Error(), "is the metrics file being charted") {
		t.Fatalf("a PNG over its own metrics: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a PNG over its own metrics changed them")
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"step\":1}\n[1,2]\n"), 0o644)
	if err := PlotMetrics(&bytes.Buffer{}, []string{bad}, []string{"step"}, 8); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "2") {
		t.Fatalf("a line that is not an object: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	if err := PlotMetricsPNG([]string{empty}, []string{"step"}, out); err == nil || !strings.Contains(err.Error(), "no steps yet") {
		t.Fatalf("an empty file: %v", err)
	}
	if err := PlotMetricsPNG([]string{path}, []string{"step"}, filepath.Join(t.TempDir(), "no", "such", "dir.png")); err == nil || !strings.Contains(err.Error(), "dir.png") {
		t.Fatalf("a missing folder: %v", err)
	}
}

// darkPixels counts the pixels of a PNG darker than a quarter of white: axes, text and lines.
func darkPixels(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", path, err)
	}
	dark := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r+g+bl < 3*0x4000 {
				dark++
			}
		}
	}
	return dark
}

func TestRunNames(t *testing.T) {
	for _, c := range []struct{ paths, want []string }{
		{[]string{"/w/rl-task+eff-a/metrics.jsonl", "/w/rl-task+eff-b/metrics.jsonl"}, []string{"a", "b"}},
		{[]string{"/w/run/metrics.jsonl", "/w/run2/metrics.jsonl"}, []string{"run", "run2"}}, // "" would name nothing
		{[]string{"/w/rl-a/metrics.jsonl"}, []string{"rl-a"}},
		{[]string{"/w/a.jsonl", "/w/b.jsonl"}, []string{"a.jsonl", "b.jsonl"}},
		{[]string{"/w/é1/metrics.jsonl", "/w/è1/metrics.jsonl"}, []string{"é1", "è1"}}, // share a byte, not a character
	} {
		runs := make([]metricsRun, len(c.paths))
		for i, p := range c.paths {
			runs[i].path = p
		}
		if got := runNames(runs); !slices.Equal(got, c.want) {
			t.Errorf("%v: %q, want %q", c.paths, got, c.want)
		}
	}
}
