package app

import (
	"fmt"
	"image/color"
	"io"

	"github.com/infty-dev/infty/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PlotMetricsPNG draws series of a metrics JSON Lines file as a PNG at out: one panel per series
// against the step, two panels a row, each step's value in a light line and, from 20 steps on,
// a moving mean over a twentieth of the run in a dark one (per-step RL metrics are noisy; the
// trend is what a reader looks for). The file appears whole or not at all.
func PlotMetricsPNG(path string, series []string, out string) error {
	rows, err := readMetrics(path, series)
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
		p, err := seriesPlot(rows, s)
		if err != nil {
			return fmt.Errorf("%s: series %q: %w", path, s, err)
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

// seriesPlot is one panel: series s of rows against the step (the row's "step", else its place).
func seriesPlot(rows []map[string]float64, s string) (*plot.Plot, error) {
	var pts plotter.XYs
	for i, row := range rows {
		v, ok := row[s]
		if !ok {
			continue
		}
		x, ok := row["step"]
		if !ok {
			x = float64(i + 1)
		}
		pts = append(pts, plotter.XY{X: x, Y: v})
	}
	p := plot.New()
	p.Title.Text = s
	p.X.Label.Text = "step"
	p.Add(plotter.NewGrid())
	raw, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	raw.Color = color.RGBA{R: 150, G: 180, B: 220, A: 255}
	p.Add(raw)
	if len(pts) >= 20 {
		mean, err := plotter.NewLine(movingMean(pts, len(pts)/20))
		if err != nil {
			return nil, err
		}
		mean.Color = color.RGBA{R: 20, G: 60, B: 140, A: 255}
		mean.Width = vg.Points(1.5)
		p.Add(mean)
	}
	return p, nil
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
