package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/infty-dev/infty/llm"
)

// lockstepRun has members run a chain of generations each, every prompt built from the ids the
// member's last call produced (as the iterations of a session are), sampling at temperature 1.
// Sleeps drawn from jitter delay the members in their callbacks and between calls, so that
// who is back in time for a step changes from one run to the next. Member 0 leaves at once
// without generating. It returns each member's logits, call after call, token after token.
func lockstepRun(t *testing.T, m *Model, members, calls int, jitter uint64, lockstep bool) [][][]float32 {
	t.Helper()
	var group *Lockstep
	if lockstep {
		var err error
		if group, err = m.Lockstep(members); err != nil {
			t.Fatal(err)
		}
	}
	out := make([][][]float32, members)
	var wg sync.WaitGroup
	for i := range members {
		wg.Go(func() {
			ctx := context.Background()
			if group != nil {
				defer group.Leave(i)
				ctx = group.Member(ctx, i)
			}
			if i == 0 {
				return
			}
			shape := rand.New(rand.NewPCG(uint64(i), 1))
			delay := rand.New(rand.NewPCG(uint64(i), jitter))
			pause := func() { time.Sleep(time.Duration(delay.IntN(3)) * time.Millisecond) }
			var last []int
			for c := range calls {
				prompt := make([]int, 1+shape.IntN(12))
				for j := range prompt {
					prompt[j] = shape.IntN(m.Config.Vocab)
				}
				prompt = append(prompt, last...)
				req := llm.Request{Prompt: prompt, MaxTokens: 2 + shape.IntN(14),
					Sampling: llm.Sampling{Temperature: 1, Seed: uint64(100*i + c)}}
				pause()
				res, err := m.generate(ctx, req, func(llm.Token) error { pause(); return nil },
					func(l []float32) { out[i] = append(out[i], slices.Clone(l)) })
				if err != nil {
					t.Error(err)
					return
				}
				last = res.IDs
			}
		})
	}
	wg.Wait()
	return out
}

// TestLockstepIsReproducible runs the same chains of generations twice in lockstep, with
// different delays, and wants every logit equal to the bit. Batched without a group they
// differ in the last bits wherever a step's company did (the test fails with lockstep off).
// Some runs have fewer places than members, so that members wait to be admitted.
func TestLockstepIsReproducible(t *testing.T) {
	for _, c := range []struct {
		dir      string
		lanes    int
		maxBatch int
	}{{"qwen2-tiny-f32", 1, 0}, {"qwen3-tiny-bf16", 1, 0}, {"qwen2-tiny-f32", 2, 0}, {"qwen3-tiny-f32", 3, 0},
		{"qwen2-tiny-f32", 1, 3}, {"qwen2-tiny-f32", 2, 5}} {
		t.Run(fmt.Sprintf("%s/%d-lanes/max-batch-%d", c.dir, c.lanes, c.maxBatch), func(t *testing.T) {
			m := loadLimits(t, c.dir, BatchLimits{Lanes: c.lanes, MaxBatch: c.maxBatch})
			noEOS(m, func() {
				a := lockstepRun(t, m, 9, 3, 1, true)
				b := lockstepRun(t, m, 9, 3, 2, true)
				for i := range a {
					if len(a[i]) != len(b[i]) {
						t.Fatalf("member %d: %d tokens, then %d", i, len(a[i]), len(b[i]))
					}
					for k := range a[i] {
						if !slices.Equal(a[i][k], b[i][k]) {
							t.Fatalf("member %d token %d: logits differ between runs", i, k)
						}
					}
				}
			})
		})
	}
}

// A group stays open until every member has left; a second one waits for that, and generations
// in a closed group's context run as any others.
func TestLockstepGroupCloses(t *testing.T) {
	m := loadModel(t, "qwen2-tiny-f32")
	g, err := m.Lockstep(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lockstep(1); err == nil {
		t.Fatal("a second group opened while the first was open")
	}
	g.Leave(0)
	g.Leave(0)
	ctx := g.Member(context.Background(), 1)
	if _, err := m.Generate(ctx, llm.Request{Prompt: []int{1, 2, 3}, MaxTokens: 3}, func(llm.Token) error { return nil }); err != nil {
		t.Fatal(err)
	}
	g.Leave(1)
	if _, err := m.Generate(ctx, llm.Request{Prompt: []int{1, 2, 3}, MaxTokens: 3}, func(llm.Token) error { return nil }); err != nil {
		t.Fatal(err)
	}
	g2, err := m.Lockstep(2)
	if err != nil {
		t.Fatalf("after every member left: %v", err)
	}
	lane := m.lanes.all[len(m.lanes.all)-1]
	lane.mu.Lock()
	stale, fresh := lane.memberOf(ctx), lane.memberOf(g2.Member(context.Background(), 1))
	lane.mu.Unlock()
	if stale != -1 || fresh != 1 {
		t.Errorf("member of the open group: %d for the closed group's member 1, %d for its own; want -1 and 1", stale, fresh)
	}
	g2.Leave(0)
	g2.Leave(1)
}
