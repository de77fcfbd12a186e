package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
	"github.com/infty-dev/infty/runtime/kernels"
	"github.com/infty-dev/infty/runtime/membw"
	"github.com/infty-dev/infty/runtime/tinymodel"
)

// The benchmarks report prefill and decode tokens/s next to the decode floor set by memory
// bandwidth (bytes of weights read per token ÷ streaming-read bandwidth, measured in the same
// run), so the figures read as ratios rather than absolute numbers.
//
// INFTY_BENCH_MODEL names a large model folder (e.g. the DeepSeek-R1-Distill-Qwen-1.5B shape
// made by shared/tools/make_big_random.py); without it only the tiny fixture is timed.
// INFTY_BENCH_PEER optionally names a command timing a peer runtime on the same model that
// prints one JSON object with prefill_tok_s and decode_tok_s, such as
// `node llama_speed.mjs MODEL.gguf 64 16 2` (shared/tools): it runs right after our own
// timing, so the two are compared under the same machine load.

var bandwidth = sync.OnceValue(func() float64 { return membw.ReadBandwidth(1<<30, 5) })

func BenchmarkTiny(b *testing.B) {
	for _, dt := range []string{"f32", "bf16", "q8"} {
		b.Run(dt, func(b *testing.B) { benchModel(b, modelsDir+"/qwen2-tiny-f32", dt, 64, 64) })
	}
}

func BenchmarkBig(b *testing.B) {
	dir := os.Getenv("INFTY_BENCH_MODEL")
	if dir == "" {
		b.Skip("INFTY_BENCH_MODEL is not set")
	}
	for _, dt := range []string{"f32", "bf16", "q8"} {
		b.Run(dt, func(b *testing.B) { benchModel(b, dir, dt, 64, 16) })
	}
}

func benchModel(b *testing.B, dir, weightDType string, promptLen, decodeLen int) {
	m, err := Load(dir, WithWeightDType(weightDType))
	if err != nil {
		b.Fatal(err)
	}
	// The next weight dtype's memory check reads MemAvailable, which does not count the heap
	// this model leaves until the Go runtime hands it back.
	defer debug.FreeOSMemory()
	defer m.Close()
	m.EOS = nil // random weights: time a fixed number of tokens
	prompt := make([]int, promptLen)
	for i := range prompt {
		prompt[i] = (i*7919 + 13) % m.Config.Vocab
	}
	req := llm.Request{Prompt: prompt, MaxTokens: decodeLen}
	relErr := checkDecodePath(b, m, weightDType, prompt)
	// Warm up: compile the prefill and decode graphs outside the timed runs.
	if _, err := m.Generate(context.Background(), llm.Request{Prompt: prompt, MaxTokens: 2}, func(llm.Token) error { return nil }); err != nil {
		b.Fatal(err)
	}
	var prefill, decode float64
	var decoded int
	b.ResetTimer()
	for range b.N {
		res, err := m.Generate(context.Background(), req, func(llm.Token) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		prefill += res.PrefillSeconds
		decode += res.DecodeSeconds
		decoded += len(res.IDs) - 1 // the first token comes from the prefill's logits
	}
	b.StopTimer()
	bytesPerToken := m.decodeWeightBytes()
	floor := bandwidth() / float64(bytesPerToken)
	b.ReportMetric(float64(promptLen*b.N)/prefill, "prefill_tok/s")
	b.ReportMetric(float64(decoded)/decode, "decode_tok/s")
	b.ReportMetric(floor, "floor_tok/s")
	b.ReportMetric(bandwidth()/1e9, "GB/s")
	b.ReportMetric(float64(bytesPerToken)/1e9, "weightGB/token")
	b.ReportMetric(float64(decoded)/decode/floor, "decode/floor")
	b.ReportMetric(relErr, "decode_relerr")
	if cmd := os.Getenv("INFTY_BENCH_PEER"); cmd != "" && dir != modelsDir+"/qwen2-tiny-f32" {
		out, err := exec.Command("sh", "-c", cmd).Output()
		if err != nil {
			b.Fatalf("INFTY_BENCH_PEER: %v", err)
		}
		var peer struct {
			Prefill float64 `json:"prefill_tok_s"`
			Decode  float64 `json:"decode_tok_s"`
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &peer); err != nil || peer.Decode <= 0 {
			b.Fatalf("INFTY_BENCH_PEER printed %q: %v", out, err)
		}
		b.ReportMetric(peer.Prefill, "peer_prefill_tok/s")
		b.ReportMetric(peer.Decode, "peer_decode_tok/s")
		b.ReportMetric(float64(decoded)/decode/peer.Decode, "decode/peer")
		b.ReportMetric(float64(promptLen*b.N)/prefill/peer.Prefill, "prefill/peer")
	}
}

// checkDecodePath refuses to time a wrong computation: the logits of a token decoded alone
// (every product a matrix-vector one, the path the decode speed measures; with bf16 weights,
// the half-precision kernel) must match the full forward pass on the same weights over more
// tokens than kernels.MaxBlockRows, whose matrix-matrix products widen bf16 weights to Float32
// and so do not share the decode path's kernels (q8 weights take the same quantized product
// both ways). The tolerance for bf16 is the one
// TestBF16Weights allows for activations rounded to bfloat16.
func checkDecodePath(b *testing.B, m *Model, weightDType string, prompt []int) float64 {
	ids := prompt[:kernels.MaxBlockRows+2] // all but the last through prefill, then 1 decoded alone
	full, err := m.Logits(ids)
	if err != nil {
		b.Fatal(err)
	}
	got, err := func() ([]float32, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		dec := m.newDecoder()
		defer dec.free()
		if _, err := dec.feed(ids[:len(ids)-1]); err != nil {
			return nil, err
		}
		return dec.feed(ids[len(ids)-1:])
	}()
	if err != nil {
		b.Fatal(err)
	}
	want := make([]float64, len(got))
	for i, v := range full[len(ids)-1] {
		want[i] = float64(v)
	}
	tol := 1e-4
	if weightDType == "bf16" {
		tol = 2e-2
	}
	e := relErr(got, want)
	if e > tol {
		b.Fatalf("%s weights: decoded logits differ from the full forward pass by %.3g relative (> %g): not timing a wrong computation", weightDType, e, tol)
	}
	return e
}

// BenchmarkBatch times aggregate decode tokens/s with 1, 4, 16, 32 and 64 concurrent streams
// of the embedded model, all in one run so the ratios (x4, x16, …: the rate over the
// single-stream one) compare under the same machine load; with INFTY_BENCH_MODEL, also 1, 4, 8
// and 16 streams of that model (or INFTY_BENCH_STREAMS, e.g. 1,8,64) with Float32 and with
// BFloat16 weights. Each stream decodes 64 tokens: streams released together fall out of step
// once (the first to ask is decoded alone, the rest in the next step), which costs one step in
// the run; with 16 tokens that was 6% of the 1.5B shape's 8-stream rate.
func BenchmarkBatch(b *testing.B) {
	dir, err := tinymodel.Dir(tinymodel.Iterative)
	if err != nil {
		b.Skip(err)
	}
	b.Run("tiny", func(b *testing.B) { benchBatch(b, dir, "f32", []int{1, 4, 16, 32, 64}, 64) })
	if big := os.Getenv("INFTY_BENCH_MODEL"); big != "" {
		streams := []int{1, 4, 8, 16}
		if list := os.Getenv("INFTY_BENCH_STREAMS"); list != "" {
			streams = nil
			for f := range strings.SplitSeq(list, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 {
					b.Fatalf("INFTY_BENCH_STREAMS=%q: want stream counts such as 1,8,64", list)
				}
				streams = append(streams, n)
			}
			if streams[0] != 1 {
				b.Fatalf("INFTY_BENCH_STREAMS=%q: the first count must be 1, the ratios' baseline", list)
			}
		}
		for _, dt := range []string{"f32", "bf16"} {
			b.Run("big-"+dt, func(b *testing.B) { benchBatch(b, big, dt, streams, 64) })
		}
	}
}

func benchBatch(b *testing.B, dir, weightDType string, streams []int, decodeLen int) {
	m, err := Load(dir, WithWeightDType(weightDType), WithBatchLimits(BatchLimits{MaxBatch: slices.Max(streams)}))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	m.EOS = nil // time a fixed number of tokens
	// run times n streams decoding together: each waits after its first token (the prefill's)
	// until every stream has one, and the clock runs from there to the last stream's end, so
	// it times decode steps only. Timed from each stream's own first token instead, a stream
	// prefilled alone first counts the others' prefills as its decoding (with 16-token prompts
	// of the 1.5B shape, seconds against ~0.6 s for an 8-row step).
	run := func(n int) (tokens int, took time.Duration) {
		var wg, prefilled sync.WaitGroup
		prefilled.Add(n)
		start := make(chan struct{})
		for i := range n {
			prompt := make([]int, 16)
			for j := range prompt {
				prompt[j] = (i*131 + j*7919 + 13) % m.Config.Vocab
			}
			wg.Go(func() {
				first := true
				_, err := m.Generate(context.Background(), llm.Request{Prompt: prompt, MaxTokens: decodeLen}, func(llm.Token) error {
					if first {
						first = false
						prefilled.Done()
						<-start
					}
					return nil
				})
				if first { // it ended before its first token: the others must not wait for it
					prefilled.Done()
				}
				if err != nil {
					b.Error(err)
				}
			})
		}
		prefilled.Wait()
		t0 := time.Now()
		close(start)
		wg.Wait()
		return n * (decodeLen - 1), time.Since(t0)
	}
	// rate repeats run(n) until the runs have taken minTimed: one stream of the tiny model
	// decodes its tokens in ~15 ms, and timed once, that single-stream rate, the ratios'
	// denominator, varied by half between runs of the benchmark.
	const minTimed = 500 * time.Millisecond
	rate := func(n int) float64 {
		var tokens int
		var took time.Duration
		for took < minTimed {
			k, d := run(n)
			tokens, took = tokens+k, took+d
		}
		return float64(tokens) / took.Seconds()
	}
	for _, n := range streams {
		run(n) // compile this batch size's graphs outside the timing
	}
	rates := make([]float64, len(streams))
	rows, steps := make([]int, len(streams)), make([]int, len(streams))
	b.ResetTimer()
	for range b.N {
		for i, n := range streams {
			m.lanes.takeStats()
			rates[i] += rate(n) / float64(b.N)
			st := m.lanes.takeStats()
			rows[i] += st.DecodeRows
			steps[i] += st.DecodeSteps
		}
	}
	for i, n := range streams {
		b.ReportMetric(rates[i], fmt.Sprintf("tok/s@%d", n))
		if i > 0 {
			b.ReportMetric(rates[i]/rates[0], fmt.Sprintf("x%d", n))
			b.ReportMetric(float64(rows[i])/float64(steps[i]), fmt.Sprintf("rows/step@%d", n))
		}
	}
}
