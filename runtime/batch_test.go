package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
)

// traced is one generation's result with the logits each of its tokens was sampled from.
type traced struct {
	res    llm.Result
	toks   []llm.Token
	logits [][]float32
	err    error
}

func runTraced(m *Model, ctx context.Context, req llm.Request, yield func(llm.Token) error) traced {
	var tr traced
	tr.res, tr.err = m.generate(ctx, req, func(tok llm.Token) error {
		tr.toks = append(tr.toks, tok)
		if yield != nil {
			return yield(tok)
		}
		return nil
	}, func(l []float32) { tr.logits = append(tr.logits, slices.Clone(l)) })
	return tr
}

// concurrently runs every request at once and returns the results in order.
func concurrently(m *Model, reqs []llm.Request) []traced {
	out := make([]traced, len(reqs))
	var wg sync.WaitGroup
	// The calls start together: started as their goroutines came up, on a loaded machine the
	// first few ran to their end before the last joined, and a test that they shared steps
	// failed.
	var ready sync.WaitGroup
	ready.Add(len(reqs))
	start := make(chan struct{})
	for i, req := range reqs {
		wg.Go(func() {
			ready.Done()
			<-start
			out[i] = runTraced(m, context.Background(), req, nil)
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	return out
}

// testRequests are greedy requests with prompts of different lengths (one past a prefill
// chunk), with budgets of maxTokens, or random ones for 0.
func testRequests(vocab, n, maxTokens int) []llm.Request {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	reqs := make([]llm.Request, n)
	for i := range reqs {
		p := make([]int, 1+rng.IntN(40))
		if i == 1 {
			p = make([]int, maxChunk+9)
		}
		for j := range p {
			p[j] = rng.IntN(vocab)
		}
		reqs[i] = llm.Request{Prompt: p, MaxTokens: 2 + rng.IntN(10)}
		if maxTokens > 0 {
			reqs[i].MaxTokens = maxTokens
		}
	}
	return reqs
}

// eachAlone runs the requests one at a time.
func eachAlone(m *Model, reqs []llm.Request) []traced {
	alone := make([]traced, len(reqs))
	for i, req := range reqs {
		alone[i] = runTraced(m, context.Background(), req, nil)
	}
	return alone
}

// sameAsAlone checks a batched generation against the same request run alone: the same ids
// and logits within 1e-5 relative.
func sameAsAlone(t *testing.T, name string, got, alone traced) {
	t.Helper()
	if got.err != nil || !slices.Equal(got.res.IDs, alone.res.IDs) {
		t.Errorf("%s: batched ids %v (err %v), alone %v", name, got.res.IDs, got.err, alone.res.IDs)
		return
	}
	for k := range got.logits {
		want := make([]float64, len(alone.logits[k]))
		for i, v := range alone.logits[k] {
			want[i] = float64(v)
		}
		if e := relErr(got.logits[k], want); e > 1e-5 {
			t.Errorf("%s token %d: batched logits differ from alone by %.3g relative", name, k, e)
		}
		if lp := got.toks[k].LogProb; math.Abs(lp-alone.toks[k].LogProb) > 1e-4 {
			t.Errorf("%s token %d: log-probability %g, alone %g", name, k, lp, alone.toks[k].LogProb)
		}
	}
}

// batchedMatchesAlone runs reqs one at a time, then all at once, and checks each batched run
// against its lone one; the batcher's counts start over just before the batched runs.
func batchedMatchesAlone(t *testing.T, m *Model, reqs []llm.Request) {
	t.Helper()
	alone := eachAlone(m, reqs)
	m.lanes.takeStats()
	for i, got := range concurrently(m, reqs) {
		sameAsAlone(t, fmt.Sprint("request ", i), got, alone[i])
	}
}

func TestBatchedMatchesSingleStream(t *testing.T) {
	for _, dir := range []string{"qwen2-tiny-f32", "qwen2-tiny-bf16", "qwen3-tiny-f32", "qwen3-tiny-bf16"} {
		t.Run(dir, func(t *testing.T) {
			m := loadModel(t, dir)
			noEOS(m, func() {
				reqs := testRequests(m.Config.Vocab, 7, 0)
				alone := eachAlone(m, reqs)
				// Which sequences share a step follows timing: on a loaded machine a caller
				// may miss a step's grace and step alone. The results must match every time;
				// sharing must happen in one of a few tries.
				want := min(4, len(reqs)/len(m.lanes.all))
				peak := 0
				for try := 0; try < 5 && peak < want; try++ {
					m.lanes.takeStats()
					for i, got := range concurrently(m, reqs) {
						sameAsAlone(t, fmt.Sprint("request ", i), got, alone[i])
					}
					peak = max(peak, m.lanes.takeStats().PeakRows)
				}
				if peak < want {
					t.Errorf("at most %d sequences shared a step in %d lanes in five tries: not batched", peak, len(m.lanes.all))
				}
			})
		})
	}
}

// TestLogProbIsLogSoftmax checks Token.LogProb against log softmax in float64. The runtime
// takes the log-sum-exp in the graph in float32, so they agree to its rounding: 1e-5.
func TestLogProbIsLogSoftmax(t *testing.T) {
	m := loadModel(t, "qwen2-tiny-f32")
	noEOS(m, func() {
		tr := runTraced(m, context.Background(), llm.Request{Prompt: prompt, MaxTokens: 3, Sampling: llm.Sampling{Temperature: 2, Seed: 5}}, nil)
		for k, tok := range tr.toks {
			sum := 0.0
			for _, l := range tr.logits[k] {
				sum += math.Exp(float64(l))
			}
			if want := float64(tr.logits[k][tok.ID]) - math.Log(sum); math.Abs(tok.LogProb-want) > 1e-5 || tok.LogProb > 0 {
				t.Errorf("token %d: LogProb %g, want %g", k, tok.LogProb, want)
			}
		}
	})
}

func TestBatchCancelOneWhileOthersFinish(t *testing.T) {
	m := loadModel(t, "qwen3-tiny-f32")
	noEOS(m, func() {
		reqs := testRequests(m.Config.Vocab, 4, 20)
		alone := eachAlone(m, reqs)
		got := make([]traced, len(reqs))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() {
				if i != 2 {
					got[i] = runTraced(m, context.Background(), req, nil)
					return
				}
				got[i] = runTraced(m, ctx, req, func(tok llm.Token) error {
					if tok.Index == 2 {
						cancel()
					}
					return nil
				})
			})
		}
		wg.Wait()
		if c := got[2]; !errors.Is(c.err, context.Canceled) || c.res.Reason != llm.StopCanceled || !slices.Equal(c.res.IDs, alone[2].res.IDs[:3]) {
			t.Errorf("canceled sequence: reason %q ids %v err %v", c.res.Reason, c.res.IDs, c.err)
		}
		for i := range reqs {
			if i != 2 {
				sameAsAlone(t, fmt.Sprint("request ", i), got[i], alone[i])
			}
		}
	})
}

// TestBatchManyJoinAndLeave runs 100 sequences of random lengths through a batch of at most 8
// in two lanes, a tenth of them canceled part way: each finished one matches its single-stream
// ids.
func TestBatchManyJoinAndLeave(t *testing.T) {
	m := loadLimits(t, "qwen2-tiny-f32", BatchLimits{MaxBatch: 8, Lanes: 2})
	m.EOS = nil
	rng := rand.New(rand.NewPCG(1, 2))
	reqs := make([]llm.Request, 100)
	for i := range reqs {
		p := make([]int, 1+rng.IntN(12))
		for j := range p {
			p[j] = rng.IntN(m.Config.Vocab)
		}
		reqs[i] = llm.Request{Prompt: p, MaxTokens: 1 + rng.IntN(8), Sampling: llm.Sampling{Temperature: 0.8, Seed: uint64(i)}}
		if i%10 == 3 { // canceled after its first token: give it a second
			reqs[i].MaxTokens++
		}
	}
	got := make([]traced, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got[i] = runTraced(m, ctx, req, func(tok llm.Token) error {
				if i%10 == 3 && tok.Index == 0 {
					cancel()
				}
				return nil
			})
		})
	}
	wg.Wait()
	st := m.lanes.takeStats()
	if st.PeakActive > 8 || st.PeakRows > 8 || st.PeakRows < 2 {
		t.Errorf("peak of %d admitted, %d rows in a step: want 2..8", st.PeakActive, st.PeakRows)
	}
	for i, req := range reqs {
		if i%10 == 3 {
			if !errors.Is(got[i].err, context.Canceled) || len(got[i].res.IDs) != 1 {
				t.Errorf("request %d: canceled after one token, got %d ids, err %v", i, len(got[i].res.IDs), got[i].err)
			}
			continue
		}
		alone := runTraced(m, context.Background(), req, nil)
		if got[i].err != nil || !slices.Equal(got[i].res.IDs, alone.res.IDs) {
			t.Errorf("request %d: batched ids %v (err %v), alone %v", i, got[i].res.IDs, got[i].err, alone.res.IDs)
		}
	}
}

// TestBatchWaitsForMemory gives each lane's KV cache room for two sequences, in one lane and in
// three: the others wait for a slot and all finish; a request that could never fit fails at
// once.
func TestBatchWaitsForMemory(t *testing.T) {
	for _, lanes := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d-lanes", lanes), func(t *testing.T) { testBatchWaitsForMemory(t, lanes) })
	}
}

func testBatchWaitsForMemory(t *testing.T, lanes int) {
	dir := filepath.Join(modelsDir, "qwen2-tiny-f32")
	probe := loadModel(t, "qwen2-tiny-f32")
	budget := int64(lanes) * probe.kvBytes(2, minCacheLen)
	m, err := Load(dir, WithBackend("go"), WithBatchLimits(BatchLimits{KVBudget: budget, Lanes: lanes}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.EOS = nil
	// Every admitted sequence holds its first token until as many as fit have one, so the peak
	// is the bound and not whatever the scheduler's timing let overlap.
	fit := 2 * lanes
	arrived, release := make(chan struct{}, 6*lanes), make(chan struct{})
	got := make([]traced, 6*lanes)
	var wg sync.WaitGroup
	for i := range got {
		req := llm.Request{Prompt: prompt[:1+i%len(prompt)], MaxTokens: 20}
		wg.Go(func() {
			got[i] = runTraced(m, context.Background(), req, func(tok llm.Token) error {
				if tok.Index == 0 {
					arrived <- struct{}{}
					<-release
				}
				return nil
			})
		})
	}
	timeout := time.After(time.Minute)
	for range fit {
		select {
		case <-arrived:
		case <-timeout:
			close(release)
			wg.Wait()
			t.Fatalf("fewer than %d sequences admitted at once within a minute", fit)
		}
	}
	close(release)
	wg.Wait()
	for i, got := range got {
		if got.err != nil || len(got.res.IDs) != 20 {
			t.Errorf("request %d: %d ids, err %v", i, len(got.res.IDs), got.err)
		}
	}
	if st := m.lanes.takeStats(); st.PeakActive != fit || st.PeakCacheBytes > budget {
		t.Errorf("peak of %d admitted and %d bytes of cache; want %d within %d", st.PeakActive, st.PeakCacheBytes, fit, budget)
	}
	_, err = m.Generate(context.Background(), llm.Request{Prompt: prompt, MaxTokens: 2 * minCacheLen}, func(llm.Token) error { return nil })
	if err == nil {
		t.Error("a request needing more than a lane's whole KV budget was accepted")
	}
}

// TestBlockedYieldDoesNotStallOthers blocks one sequence's callback (a paused session): the
// others finish meanwhile, and the blocked one finishes as it would have alone once released.
func TestBlockedYieldDoesNotStallOthers(t *testing.T) {
	m := loadModel(t, "qwen2-tiny-f32")
	noEOS(m, func() {
		reqs := testRequests(m.Config.Vocab, 3, 16)
		alone := runTraced(m, context.Background(), reqs[0], nil)
		release, blocked := make(chan struct{}), make(chan struct{})
		var paused traced
		var wg sync.WaitGroup
		wg.Go(func() {
			paused = runTraced(m, context.Background(), reqs[0], func(tok llm.Token) error {
				if tok.Index == 2 {
					close(blocked)
					<-release
				}
				return nil
			})
		})
		<-blocked
		for i, got := range concurrently(m, reqs[1:]) {
			if got.err != nil || len(got.res.IDs) != 16 {
				t.Errorf("request %d beside a blocked one: %d ids, err %v", i+1, len(got.res.IDs), got.err)
			}
		}
		close(release)
		wg.Wait()
		sameAsAlone(t, "blocked request", paused, alone)
	})
}

func TestDecodeRowsFollowsStepCost(t *testing.T) {
	b := &batcher{stepCost: map[int]time.Duration{}}
	if n := b.decodeRows(6); n != 6 {
		t.Errorf("nothing timed: %d rows, want all 6", n)
	}
	b.stepCost[8] = 80 * time.Millisecond
	if n := b.decodeRows(6); n != 4 {
		t.Errorf("8 rows timed: %d rows, want 4 tried next", n)
	}
	b.stepCost[4], b.stepCost[2], b.stepCost[1] = 10*time.Millisecond, 8*time.Millisecond, 5*time.Millisecond
	if n := b.decodeRows(6); n != 4 { // tokens/s: 75 for 6 rows, 400 for 4, 250 for 2, 200 for 1
		t.Errorf("%d rows, want the 4 that decode fastest", n)
	}
	b.stepCost[8] = 12 * time.Millisecond
	if n := b.decodeRows(6); n != 6 {
		t.Errorf("%d rows, want all 6 once they decode fastest", n)
	}
	b.stepCost[8] = 18 * time.Millisecond // 333 tokens/s, 4 rows 1.2× as many: too close to split the step
	if n := b.decodeRows(6); n != 6 {
		t.Errorf("%d rows, want all 6 while 4 decode less than %g× as fast", n, fewerGain)
	}
	b.stepCost[8] = 19 * time.Millisecond // 316 tokens/s, 4 rows 1.27× as many
	if n := b.decodeRows(6); n != 4 {
		t.Errorf("%d rows, want 4 once they decode %g× as fast as all 6", n, fewerGain)
	}
	b.stepCost[8] = 80 * time.Millisecond
	b.fewer = 0
	var tries, want []int
	for i := range 2 * exploreEvery {
		tries = append(tries, b.decodeRows(6))
		want = append(want, 4)
		if (i+1)%exploreEvery == 0 {
			want[i] = 6
		}
	}
	if !slices.Equal(tries, want) {
		t.Errorf("rows taken while 4 decode fastest: %v, want %v (all 6 again every %dth step)", tries, want, exploreEvery)
	}
}

// A stalled step once made the largest bucket look slow, and the buckets between timed no
// faster per token than one row (as under a burst of load): retiming only the next larger
// bucket would never climb back to the fastest.
func TestDecodeRowsClimbsPastBucketsNoFaster(t *testing.T) {
	truth := map[int]time.Duration{1: 400 * time.Microsecond, 2: time.Millisecond, 4: 2200 * time.Microsecond, 8: 1400 * time.Microsecond}
	b := &batcher{stepCost: maps.Clone(truth)}
	b.stepCost[8] = time.Hour
	var taken []int
	for range 4 * exploreEvery {
		rows := b.decodeRows(8)
		taken = append(taken, rows)
		b.timed(bucket(rows, 1), truth[bucket(rows, 1)])
	}
	if b.stepCost[8] != truth[8] || b.decodeRows(8) != 8 {
		t.Errorf("8 rows cost %v after steps of %v rows; want them retimed at %v and taken", b.stepCost[8], taken, truth[8])
	}
}

func TestStepCostSkipsTheCompilingStep(t *testing.T) {
	m, err := Load(filepath.Join(modelsDir, "qwen2-tiny-f32"), WithBatchLimits(BatchLimits{Lanes: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.EOS = nil
	gen := func(maxTokens int) {
		if _, err := m.Generate(context.Background(), llm.Request{Prompt: prompt, MaxTokens: maxTokens}, func(llm.Token) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	gen(2) // one decode step, of a graph shape new to the model
	if len(m.lanes.all[0].stepCost) != 0 {
		t.Errorf("step costs %v after only a compiling step", m.lanes.all[0].stepCost)
	}
	gen(3) // two more of the same shape
	if _, ok := m.lanes.all[0].stepCost[1]; !ok {
		t.Errorf("step costs %v: the 1-row steps after the first were not timed", m.lanes.all[0].stepCost)
	}
}

// TestReadyCallersShareSteps releases eight streams held after their first token, on one
// core: the first caller to submit wakes the scheduler, and Go runs the goroutine a wake-up
// readies next, so the two could hand the core back and forth, one-row step after one-row
// step, while the seven other callers, ready too, waited behind them (the scheduler yields
// before a step that leaves some out).
func TestReadyCallersShareSteps(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	m := loadLanes(t, "qwen2-tiny-f32", 1)
	const n, tokens = 8, 24
	release := func() batchStats {
		var wg, first sync.WaitGroup
		first.Add(n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				held := false
				req := llm.Request{Prompt: []int{1 + i, 2, 3}, MaxTokens: tokens}
				if _, err := m.Generate(context.Background(), req, func(llm.Token) error {
					if !held {
						held = true
						first.Done()
						<-start
					}
					return nil
				}); err != nil {
					t.Error(err)
				}
			})
		}
		first.Wait()
		time.Sleep(10 * time.Millisecond) // every stream past its grace
		m.lanes.takeStats()
		close(start)
		wg.Wait()
		return m.lanes.takeStats()
	}
	var st batchStats
	noEOS(m, func() {
		release() // compiles and times the buckets of rows, one step each
		st = release()
	})
	// In step, each of the tokens-1 decode steps has all n rows; a stream a step behind the
	// others costs a step more. Measured: 23-25 steps on an idle 2-core machine, up to 28
	// beside two busy loops, and 130-163 in 19 of 20 runs without the scheduler's yield.
	if limit := tokens + 8; st.DecodeRows != n*(tokens-1) || st.DecodeSteps > limit {
		t.Errorf("%d streams decoded %d rows in %d steps: want %d rows in at most %d steps", n, st.DecodeRows, st.DecodeSteps, n*(tokens-1), limit)
	}
}

func TestStepCostRecoversFromOneSlowStep(t *testing.T) {
	m, err := Load(filepath.Join(modelsDir, "qwen2-tiny-f32"), WithBatchLimits(BatchLimits{Lanes: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	reqs := testRequests(m.Config.Vocab, 8, 40)
	concurrently(m, reqs)                  // compiles the graph shapes, whose first steps are not timed
	m.lanes.all[0].stepCost[8] = time.Hour // as if an 8-row step had stalled
	concurrently(m, reqs)
	if cost := m.lanes.all[0].stepCost[8]; cost > time.Minute {
		t.Errorf("8-row step cost still %v after a batch of 8", cost)
	}
}

// loadLanes loads a fixture model that decodes in the given number of lanes, closed when the
// test ends.
func loadLanes(t *testing.T, dir string, lanes int) *Model {
	t.Helper()
	return loadLimits(t, dir, BatchLimits{Lanes: lanes})
}

// loadLimits loads a fixture model with the given batching limits, closed when the test ends.
func loadLimits(t *testing.T, dir string, l BatchLimits) *Model {
	t.Helper()
	m, err := Load(filepath.Join(modelsDir, dir), WithBackend("go"), WithBatchLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestLanesStepAtOnce runs eight generations in two lanes: both lanes step, each generation
// matches its single-stream run, and a Lockstep member goes to the lane its index names.
func TestLanesStepAtOnce(t *testing.T) {
	m := loadLanes(t, "qwen2-tiny-f32", 2)
	noEOS(m, func() {
		batchedMatchesAlone(t, m, testRequests(m.Config.Vocab, 8, 12))
		for i, b := range m.lanes.all {
			if st := b.takeStats(); st.DecodeSteps == 0 || st.PeakRows < 2 {
				t.Errorf("lane %d: %d decode steps, at most %d rows: want both lanes batching", i, st.DecodeSteps, st.PeakRows)
			}
		}
	})
	g, err := m.Lockstep(4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if b := m.lanes.pick(g.Member(context.Background(), i)); b.lane != i%2 {
			t.Errorf("member %d went to lane %d, want %d", i, b.lane, i%2)
		}
		g.Leave(i)
	}
}

func TestDefaultLanes(t *testing.T) {
	m := loadModel(t, "qwen2-tiny-f32")
	if got := len(m.lanes.all); got != smallModelLanes {
		t.Errorf("a tiny model decodes in %d lanes, want %d", got, smallModelLanes)
	}
	if n := defaultLanes(m.backend, laneWeightBytes+1); n != 1 {
		t.Errorf("a model over laneWeightBytes gets %d lanes, want 1", n)
	}
}

// TestCloseEndsGenerationsInFlight closes a model while generations decode in both lanes:
// every one ends with the closed model's error, and Close returns.
func TestCloseEndsGenerationsInFlight(t *testing.T) {
	m := loadLanes(t, "qwen2-tiny-f32", 2)
	m.EOS = nil
	const n = 6
	var started, wg sync.WaitGroup
	started.Add(n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			first := true
			_, errs[i] = m.Generate(context.Background(), llm.Request{Prompt: prompt, MaxTokens: 200}, func(llm.Token) error {
				if first {
					first = false
					started.Done()
				}
				return nil
			})
		})
	}
	started.Wait()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, errClosed) {
			t.Errorf("generation %d: %v, want the closed model's error", i, err)
		}
	}
}

// TestPromptCallersNeverWaitOutTheGrace raises the grace a step waits for slow callers to an
// hour: callers that come straight back, of sequences that end at different steps, must
// still never leave a step waiting it out. Each sequence's next id wakes the scheduler only
// when it is the last the previous step served; one that counted a finished sequence as still
// out stalled here.
func TestPromptCallersNeverWaitOutTheGrace(t *testing.T) {
	saved := minGrace
	minGrace = time.Hour
	defer func() { minGrace = saved }()
	for _, lanes := range []int{1, 2} {
		m := loadLanes(t, "qwen2-tiny-f32", lanes)
		m.EOS = nil
		reqs := testRequests(m.Config.Vocab, 12, 0)
		for i := range reqs {
			reqs[i].MaxTokens = 1 + i%5
		}
		done := make(chan []traced, 1)
		go func() { done <- concurrently(m, reqs) }()
		select {
		case got := <-done:
			for i, g := range got {
				if g.err != nil || len(g.res.IDs) != reqs[i].MaxTokens {
					t.Errorf("%d lanes, request %d: %d ids of %d, err %v", lanes, i, len(g.res.IDs), reqs[i].MaxTokens, g.err)
				}
			}
		case <-time.After(time.Minute):
			t.Fatalf("%d lanes: 12 generations still running after a minute: a step waited out the grace", lanes)
		}
	}
}

// TestSubmitWakesTheSchedulerWhenItWaits checks when an id wakes the scheduler. Of the
// sequences the last step served, one that comes back within the grace, with another still
// out, does not: the scheduler waits for the other, its timer set to the grace's end. The last
// of them does, and so does one back after the grace, when the scheduler may be asleep with no
// timer; without that, two late callers of one step waited for each other for good. One served
// by an earlier step always does.
func TestSubmitWakesTheSchedulerWhenItWaits(t *testing.T) {
	b := newBatcher(nil, &batchLanes{}, 0, 8, 1<<30)
	b.step, b.grace = 2, time.Minute
	woke := func() bool {
		select {
		case <-b.wake:
			return true
		default:
			return false
		}
	}
	served := func(step int, ago time.Duration) *seq {
		return &seq{served: time.Now().Add(-ago), servedIn: step, out: make(chan stepOut, 1)}
	}
	for _, c := range []struct {
		name    string
		seqs    []*seq // the first submits; those of step 2 count as awaited
		wantHim bool
	}{
		{"one of two, in time", []*seq{served(2, 0), served(2, 0)}, false},
		{"the last of its step", []*seq{served(2, 0)}, true},
		{"one of two, late", []*seq{served(2, 2*time.Minute), served(2, 2*time.Minute)}, true},
		{"served by an earlier step", []*seq{served(1, 0), served(2, 0)}, true},
	} {
		b.awaited = 0
		for _, s := range c.seqs {
			if s.servedIn == b.step {
				b.awaited++
			}
		}
		woke()
		b.submit(c.seqs[0], 5)
		if got := woke(); got != c.wantHim {
			t.Errorf("%s: woke the scheduler %v, want %v", c.name, got, c.wantHim)
		}
	}
}
