package arch_test

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/infty-dev/infty/runtime/arch"
	_ "github.com/infty-dev/infty/runtime/qwen"
)

func TestPopulateBindsByName(t *testing.T) {
	var dst struct {
		A    *graph.Node `hf:"a.weight"`
		B    *graph.Node `hf:"b.bias,optional"`
		Skip *graph.Node
	}
	a := &graph.Node{}
	if err := arch.Populate(&dst, arch.Weights{"x.a.weight": a}, "x."); err != nil {
		t.Fatal(err)
	}
	if dst.A != a || dst.B != nil || dst.Skip != nil {
		t.Errorf("bound %+v", dst)
	}
	err := arch.Populate(&dst, arch.Weights{"x.b.bias": a}, "x.")
	if err == nil || !strings.Contains(err.Error(), "x.a.weight") {
		t.Errorf("missing required tensor: error %v, want one naming x.a.weight", err)
	}
}

func TestUnknownArchitectureNamesTheKnownOnes(t *testing.T) {
	_, _, err := arch.Parse([]byte(`{"architectures":["LlamaForCausalLM"]}`))
	if err == nil || !strings.Contains(err.Error(), "LlamaForCausalLM") ||
		!strings.Contains(err.Error(), "Qwen2ForCausalLM, Qwen3ForCausalLM") {
		t.Errorf("error %v, want one naming the architecture and the registered ones", err)
	}
}
