package app

import (
	"testing"

	"github.com/infty-dev/infty/runtime"
	"github.com/spf13/pflag"
)

func TestBatchFlags(t *testing.T) {
	for in, want := range map[string]int64{"512": 512 << 20, "4GiB": 4 << 30, "1.5G": 3 << 29, "64KiB": 64 << 10, "100B": 100} {
		fl := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var l runtime.BatchLimits
		AddBatchFlags(fl, &l)
		if err := fl.Parse([]string{"--kv-budget", in, "--max-batch", "8"}); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if l.KVBudget != want || l.MaxBatch != 8 {
			t.Errorf("--kv-budget %s: %d bytes, max batch %d; want %d, 8", in, l.KVBudget, l.MaxBatch, want)
		}
	}
	fl := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddBatchFlags(fl, &runtime.BatchLimits{})
	if err := fl.Parse([]string{"--kv-budget", "lots"}); err == nil {
		t.Error("--kv-budget lots accepted")
	}
}
