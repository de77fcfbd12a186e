package backend

import (
	"flag"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"golang.org/x/sys/cpu"
	"k8s.io/klog/v2"

	"github.com/infty-dev/infty/runtime/backend/avx2dot"
)

// lockedBuffer collects klog's output, which its flush goroutine may write at any time.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAVX512KernelsOff builds a Float32 product on the pure-Go backend with klog's verbose log
// on, which names the DotGeneral implementation the backend chose: it must not be the AVX-512
// one (see package avx2dot). Only a machine with AVX-512 can tell; elsewhere the test checks
// that a kernel was named at all.
func TestAVX512KernelsOff(t *testing.T) {
	if avx2dot.SetByUser {
		t.Skipf("%s was set before infty started, which infty leaves alone", avx2dot.Env)
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	var log lockedBuffer
	for k, v := range map[string]string{"v": "1", "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
		if err := fs.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	klog.SetOutput(&log)
	defer func() {
		fs.Set("v", "0")
		fs.Set("logtostderr", "true")
		klog.Flush()
	}()

	be, err := Open("go")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	exec, err := graph.NewExec(be, func(x, w *graph.Node) *graph.Node {
		return graph.Dot(x, w).General([]int{1}, nil, []int{1}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions(make([]float32, 2*64), 2, 64)
	w := tensors.FromFlatDataAndDimensions(make([]float32, 3*64), 3, 64)
	if _, err := exec.Call(x, w); err != nil {
		t.Fatal(err)
	}
	klog.Flush()
	var chose string
	for line := range strings.SplitSeq(log.String(), "\n") {
		if strings.Contains(line, "Using DotGeneral implementation") {
			chose = line
		}
	}
	switch {
	case chose == "":
		t.Fatalf("the backend logged no DotGeneral implementation; its log:\n%s", log.String())
	case strings.Contains(strings.ToLower(chose), "avx512"):
		t.Errorf("the pure-Go backend chose its AVX-512 kernel (%s was read before avx2dot set it):\n%s", avx2dot.Env, chose)
	case !cpu.X86.HasAVX512F:
		t.Logf("this CPU has no AVX-512, so the choice proves nothing here: %s", chose)
	}
	// What `infty backend` says must be what the backend chose.
	for name, says := range map[string]string{`"simd:avx2"`: "AVX2", `"simd:nosimd"`: "portable Go"} {
		if strings.Contains(chose, name) && !strings.HasPrefix(GoKernels(), says) {
			t.Errorf("GoKernels() = %q, but the backend chose %s", GoKernels(), name)
		}
	}
}
