package app

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/infty-dev/infty/internal/jsonl"
)

// sparks are the eight heights of a sparkline cell.
var sparks = []rune("▁▂▃▄▅▆▇█")

// PlotMetrics charts series of metrics JSON Lines files (one object per step, as `infty train
// rl` writes; several files are the stages of a recipe, charted one after another) in the
// terminal: one sparkline per series, the steps averaged into at most width columns, with each
// series' first, lowest, highest and last value.
func PlotMetrics(w io.Writer, paths []string, series []string, width int) error {
	runs, err := readMetrics(paths, series)
	if err != nil {
		return err
	}
	var rows []map[string]float64
	for _, r := range runs {
		rows = append(rows, r.rows...)
	}
	width = max(width, 8)
	cols := min(len(rows), width)
	name := 0
	for _, s := range series {
		name = max(name, len(s))
	}
	lines := make([]string, len(series))
	for i, s := range series {
		vals := make([]float64, cols)
		for c := range vals {
			lo, hi := c*len(rows)/cols, (c+1)*len(rows)/cols
			sum, n := 0.0, 0
			for _, row := range rows[lo:hi] {
				if v, ok := row[s]; ok {
					sum, n = sum+v, n+1
				}
			}
			vals[c] = math.NaN()
			if n > 0 {
				vals[c] = sum / float64(n)
			}
		}
		lines[i] = fmt.Sprintf("%-*s %s\n", name, s, sparkline(vals))
	}
	fmt.Fprintf(w, "%d steps, %d per column\n", len(rows), (len(rows)+cols-1)/cols)
	for _, l := range lines {
		io.WriteString(w, l)
	}
	return nil
}

// sparkline draws vals (NaN: a gap) scaled between their minimum and maximum, followed by the
// first, min, max and last value.
func sparkline(vals []float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	first, last := math.NaN(), math.NaN()
	for _, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		lo, hi, last = min(lo, v), max(hi, v), v
		if math.IsNaN(first) {
			first = v
		}
	}
	var b strings.Builder
	for _, v := range vals {
		switch {
		case math.IsNaN(v):
			b.WriteRune(' ')
		case hi == lo:
			b.WriteRune(sparks[len(sparks)/2])
		default:
			b.WriteRune(sparks[int(math.Round((v-lo)/(hi-lo)*float64(len(sparks)-1)))])
		}
	}
	fmt.Fprintf(&b, "  first %s  min %s  max %s  last %s", num(first), num(lo), num(hi), num(last))
	return b.String()
}

func num(v float64) string {
	if math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// metricsRun is the steps of one metrics file.
type metricsRun struct {
	path string
	rows []map[string]float64
}

// readMetrics reads metrics JSON Lines files, one object of numbers per step, and checks that
// every series has a value in some step.
func readMetrics(paths []string, series []string) ([]metricsRun, error) {
	var runs []metricsRun
	all := map[string]float64{}
	for _, path := range paths {
		rows, err := readMetricsFile(path)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			maps.Copy(all, row)
		}
		runs = append(runs, metricsRun{path, rows})
	}
	for _, s := range series {
		if _, ok := all[s]; !ok {
			return nil, fmt.Errorf("%s: no series %q (it has: %s)", strings.Join(paths, ", "), s, strings.Join(keys(all), ", "))
		}
	}
	return runs, nil
}

func readMetricsFile(path string) ([]map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []map[string]float64
	r := jsonl.NewReader(f, path)
	for b, ok := r.Next(); ok; b, ok = r.Next() {
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, r.Errorf("not a JSON object: %w", err)
		}
		row := map[string]float64{}
		for k, v := range raw {
			if x, ok := v.(float64); ok {
				row[k] = x
			}
		}
		rows = append(rows, row)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no steps yet", path)
	}
	return rows, nil
}

func keys(m map[string]float64) []string { return slices.Sorted(maps.Keys(m)) }
