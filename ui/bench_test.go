package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/infty-dev/infty/session"
	"github.com/infty-dev/infty/themes"
)

// streamedModel is a workbench that has already shown n streamed tokens: iterations of η=512
// reasoning tokens with a 32-token summary each, one word per token and a paragraph break every
// 60 words, like a model writing.
func streamedModel(n int) *Model {
	m := New(Options{Theme: themes.Dark(), Question: "bench", Info: testInfo, Coalesce: -1, NoTick: true})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(startedMsg{Started{Run: &fakeRun{}, Info: testInfo}})
	evs := make([]session.Event, 0, n+n/256)
	it, inIter := 1, 0
	evs = append(evs, session.Event{Type: session.EventIterationStart, Iteration: 1})
	for i := 0; i < n; i++ {
		text := fmt.Sprintf("w%d ", i%977)
		if i%60 == 59 {
			text = "end.\n\n"
		}
		part := session.PartReasoning
		if inIter >= 512 {
			part = session.PartSummary
		}
		evs = append(evs, session.Event{Type: session.EventDelta, Iteration: it, Part: part, Text: text})
		inIter++
		if inIter == 512+32 && i < n-1 {
			evs = append(evs, session.Event{Type: session.EventIterationEnd, Iteration: it, Tokens: inIter, Seconds: 1})
			it++
			inIter = 0
			evs = append(evs, session.Event{Type: session.EventIterationStart, Iteration: it})
		}
	}
	m.Update(eventsMsg{events: evs})
	m.View()
	return m
}

// BenchmarkStreamToken measures the cost of one streamed token (the update that appends it and
// the view that shows it) after 1k and after 100k tokens. Finished panes are cached and the live
// one wraps incrementally, so the two figures should be about the same.
func BenchmarkStreamToken(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("after=%dk", n/1000), func(b *testing.B) {
			m := streamedModel(n)
			it := m.trace.current().index
			msg := eventsMsg{events: []session.Event{{Type: session.EventDelta, Iteration: it, Part: session.PartReasoning, Text: "tok "}}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Update(msg)
				_ = m.View()
			}
		})
	}
}

// TestStreamCostFlat checks the benchmark's claim without timing: the number of trace lines a
// token's view renders does not depend on how long the trace is.
func TestStreamCostFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100k-token trace")
	}
	small, large := streamedModel(1_000), streamedModel(100_000)
	if small.trace.totalHeight() >= large.trace.totalHeight() {
		t.Fatal("the large trace is not larger")
	}
	for _, m := range []*Model{small, large} {
		m.trace.relayout()
		before := len(m.trace.offsets)
		feed(m, session.Event{Type: session.EventDelta, Iteration: m.trace.current().index, Part: session.PartReasoning, Text: "tok "})
		_ = m.View()
		if m.trace.dirty || len(m.trace.offsets) != before {
			t.Fatal("a streamed token invalidated the layout of the finished panes")
		}
	}
}

// Finishing an iteration re-renders that iteration's panes only; the earlier ones keep their
// cached lines.
func TestIterationEndKeepsOtherCaches(t *testing.T) {
	m := streamedModel(5_000)
	if m.trace.panes[0].cache == nil {
		m.trace.paneLines(0)
	}
	first := &m.trace.panes[0].cache[0]
	k := m.trace.current().index
	feed(m,
		session.Event{Type: session.EventSummary, Iteration: k, Text: "* done"},
		session.Event{Type: session.EventIterationEnd, Iteration: k, Tokens: 10, Seconds: 1},
		session.Event{Type: session.EventIterationStart, Iteration: k + 1, Text: "* done"},
	)
	_ = m.View()
	if m.trace.panes[0].cache == nil || &m.trace.panes[0].cache[0] != first {
		t.Fatal("ending an iteration re-rendered the first pane")
	}
}

// BenchmarkStreamTokenRatio alternates tokens between a 1k-token and a 100k-token workbench, so
// both see the same machine load, and reports each one's cost per token and their ratio.
func BenchmarkStreamTokenRatio(b *testing.B) {
	small, large := streamedModel(1_000), streamedModel(100_000)
	msgFor := func(m *Model) eventsMsg {
		return eventsMsg{events: []session.Event{{Type: session.EventDelta, Iteration: m.trace.current().index, Part: session.PartReasoning, Text: "tok "}}}
	}
	ms, ml := msgFor(small), msgFor(large)
	var ts, tl time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		small.Update(ms)
		_ = small.View()
		t1 := time.Now()
		large.Update(ml)
		_ = large.View()
		tl += time.Since(t1)
		ts += t1.Sub(t0)
	}
	b.ReportMetric(float64(ts.Nanoseconds())/float64(b.N), "ns/token@1k")
	b.ReportMetric(float64(tl.Nanoseconds())/float64(b.N), "ns/token@100k")
	b.ReportMetric(float64(tl)/float64(ts), "ratio")
}
