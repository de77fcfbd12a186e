package app

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/infty-dev/infty/internal/atomicfile"
	"github.com/infty-dev/infty/train/rl"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PlotMetricsPNG draws series of metrics JSON Lines files as a PNG at out: one panel per series
// against the step, two panels a row, each step's value in a light line and, from 20 steps on,
// a moving mean over a twentieth of the steps in a dark one (per-step RL metrics are noisy; the
// trend is what a reader looks for). Several files are the stages of a recipe: drawn one after
// another, a dashed line where each begins, named in the top panels. The file appears whole or
// not at all.
func PlotMetricsPNG(paths []string, series []string, out string) error {
	if st, err := os.Stat(out); err == nil {
		for _, p := range paths {
			if in, err := os.Stat(p); err == nil && os.SameFile(st, in) {
				return fmt.Errorf("%s: is the metrics file being charted; name another file for the PNG", out)
			}
		}
	}
	runs, err := readMetrics(paths, series)
	if err != nil {
		return err
	}
	const cols = 2
	nrows := (len(series) + cols - 1) / cols
	grid := make([][]*plot.Plot, nrows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
	}
	for i, s := range series {
		p, err := seriesPlot(runs, s, i < cols && len(runs) > 1)
		if err != nil {
			return fmt.Errorf("%s: series %q: %w", strings.Join(paths, ", "), s, err)
		}
		grid[i/cols][i%cols] = p
	}
	img := vgimg.NewWith(vgimg.UseWH(cols*4*vg.Inch, vg.Length(nrows)*2.2*vg.Inch), vgimg.UseDPI(120))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: nrows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(grid, tiles, dc)
	for r := range grid {
		for c, p := range grid[r] {
			if p != nil {
				p.Draw(canvases[r][c])
			}
		}
	}
	return atomicfile.Write(out, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// seriesPlot is one panel: series s of each run against the step (a row's "step", else its
// place), each run after the one before; named puts the runs' names at their starts.
func seriesPlot(runs []metricsRun, s string, named bool) (*plot.Plot, error) {
	var pts plotter.XYs
	var starts []float64 // x where each run begins
	var from []int       // index in pts of each run's first point
	end := 0.0
	for _, run := range runs {
		starts, from = append(starts, end), append(from, len(pts))
		last := end
		for i, row := range run.rows {
			x, ok := row["step"]
			if !ok {
				x = float64(i + 1)
			}
			last = max(last, end+x)
			if v, ok := row[s]; ok {
				pts = append(pts, plotter.XY{X: end + x, Y: v})
			}
		}
		end = last
	}
	from = append(from, len(pts))
	p := plot.New()
	p.Title.Text = s
	p.X.Label.Text = "step"
	p.X.Tick.Marker, p.Y.Tick.Marker = shortTicks{}, shortTicks{}
	p.Add(plotter.NewGrid())
	raw, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	raw.Color = color.RGBA{R: 150, G: 180, B: 220, A: 255}
	p.Add(raw)
	for k := range runs {
		// Each run's mean stops at its end: a new stage is a new start, not a continuation.
		run := pts[from[k]:from[k+1]]
		if len(pts) < 20 || len(run) == 0 {
			continue
		}
		mean, err := plotter.NewLine(movingMean(run, len(pts)/40))
		if err != nil {
			return nil, err
		}
		mean.Color = color.RGBA{R: 20, G: 60, B: 140, A: 255}
		mean.Width = vg.Points(1.5)
		p.Add(mean)
	}
	if len(runs) > 1 {
		lo, hi := plotter.Range(plotter.YValues{XYer: pts})
		var names plotter.XYLabels
		called := runNames(runs)
		for k, x := range starts {
			if k > 0 {
				l, err := plotter.NewLine(plotter.XYs{{X: x, Y: lo}, {X: x, Y: hi}})
				if err != nil {
					return nil, err
				}
				l.Color = color.Gray{Y: 90}
				l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
				p.Add(l)
			}
			names.XYs = append(names.XYs, plotter.XY{X: x, Y: hi})
			names.Labels = append(names.Labels, " "+called[k])
		}
		if named {
			l, err := plotter.NewLabels(names)
			if err != nil {
				return nil, err
			}
			p.Add(l)
		}
	}
	return p, nil
}

// shortTicks are gonum's default ticks labelled without trailing zeros: "250", not "250.00".
type shortTicks struct{}

func (shortTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'g', 6, 64)
		}
	}
	return ticks
}

// runNames are what runs are called on a chart: each one's folder (or the file when it is not
// the folder's metrics file), less the prefix all share when that leaves every name something:
// a recipe's stages rl-task+eff-a … -f read as a … f.
func runNames(runs []metricsRun) []string {
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = filepath.Base(r.path)
		if names[i] == rl.MetricsFile {
			names[i] = filepath.Base(filepath.Dir(r.path))
		}
	}
	if len(names) < 2 {
		return names
	}
	common := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, common) {
			common = common[:len(common)-1]
		}
	}
	for !utf8.ValidString(common) { // a cut inside a character keeps that character whole
		common = common[:len(common)-1]
	}
	for _, n := range names {
		if len(n) == len(common) {
			return names
		}
	}
	for i := range names {
		names[i] = names[i][len(common):]
	}
	return names
}

// movingMean averages each point's Y with up to half points on either side.
func movingMean(pts plotter.XYs, half int) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i := range pts {
		lo, hi := max(0, i-half), min(len(pts), i+half+1)
		sum := 0.0
		for _, p := range pts[lo:hi] {
			sum += p.Y
		}
		out[i] = plotter.XY{X: pts[i].X, Y: sum / float64(hi-lo)}
	}
	return out
}
