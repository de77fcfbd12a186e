// Package backend chooses and opens the GoMLX compute backend infty runs on.
//
// The default is the pure-Go backend (github.com/gomlx/compute/gobackend),
// which needs nothing outside the binary. XLA backends (a PJRT plugin, on CPU
// or on an NVIDIA GPU) are compiled in only with the build tag `xla` (and
// cgo), because go-xla links C code; a binary built without the tag answers
// with a clear error instead. No path here downloads anything: go-xla's
// plugin auto-install is switched off before any XLA backend is created.
package backend

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"

	_ "github.com/infty-dev/infty/runtime/backend/avx2dot" // before the backend reads its switches
)

// Env names the environment variable read when no backend is given.
const Env = "INFTY_BACKEND"

// DefaultSpec is the backend used when neither a flag nor $INFTY_BACKEND says.
const DefaultSpec = "go"

// openTimeout bounds the creation of an XLA client, so a wedged driver or
// plugin turns into an error rather than a hung program.
var openTimeout = 3 * time.Minute

// Usage describes the accepted specs, for flag help and error messages.
const Usage = `"go" (pure Go, default), "cuda" (XLA with the PJRT CUDA plugin, found automatically), ` +
	`"xla:cpu" (an installed XLA CPU plugin) or "xla:/abs/path/plugin.so"; XLA options may follow after commas, e.g. "cuda,memory_fraction=0.5"`

// Kind is the sort of backend a spec asks for.
type Kind int

const (
	KindGo   Kind = iota // pure-Go backend
	KindCUDA             // XLA with a discovered CUDA plugin
	KindXLA              // XLA with a named plugin or an absolute plugin path
)

// Spec is a parsed backend choice.
type Spec struct {
	Kind Kind
	// Plugin is the XLA plugin name ("cpu") or absolute path (KindXLA only).
	Plugin string
	// Options are go-xla plugin options such as "memory_fraction=0.5".
	Options []string
}

// ParseSpec parses a backend spec. "" means $INFTY_BACKEND, else "go".
func ParseSpec(spec string) (Spec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		spec = strings.TrimSpace(os.Getenv(Env))
	}
	if spec == "" {
		spec = DefaultSpec
	}
	head, opts, _ := strings.Cut(spec, ",")
	var options []string
	for _, o := range strings.Split(opts, ",") {
		if o = strings.TrimSpace(o); o != "" {
			options = append(options, o)
		}
	}
	switch {
	case head == "go":
		if len(options) > 0 {
			return Spec{}, fmt.Errorf("backend %q: the go backend takes no options", spec)
		}
		return Spec{Kind: KindGo}, nil
	case head == "cuda" || head == "xla:cuda":
		return Spec{Kind: KindCUDA, Options: options}, nil
	case strings.HasPrefix(head, "xla:"):
		plugin := strings.TrimPrefix(head, "xla:")
		if plugin == "" {
			return Spec{}, fmt.Errorf("backend %q: name a plugin after \"xla:\" (want %s)", spec, Usage)
		}
		if strings.ContainsRune(plugin, os.PathSeparator) && !filepath.IsAbs(plugin) {
			return Spec{}, fmt.Errorf("backend %q: a plugin path must be absolute", spec)
		}
		return Spec{Kind: KindXLA, Plugin: plugin, Options: options}, nil
	}
	return Spec{}, fmt.Errorf("unknown backend %q: want %s", spec, Usage)
}

// goConfig runs the pure-Go backend's ops one after another, each op still on every core. Its
// default runs independent ops at once when the graph is alone on the machine, and there they
// contend for the same workers and caches: sequential decoding is 1.2-1.5× faster for one
// stream of the tiny model and 1.3-1.5× for the 1.5B shape (1.5× at 8 streams), and training
// graphs, where several large products become ready together, could deadlock in it waiting
// for workers the others held.
const goConfig = "ops_sequential"

// Open creates the backend a spec names (see Usage); "" means $INFTY_BACKEND,
// else the pure-Go backend.
func Open(spec string) (compute.Backend, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	switch s.Kind {
	case KindGo:
		return gobackend.New(goConfig)
	case KindCUDA:
		if !XLAAvailable {
			// Said first: no plugin found or installed would help this binary.
			return nil, errors.New("backend cuda: this infty binary was built without XLA support (the xla build tag); " +
				"rebuild it with `CGO_ENABLED=1 go build -tags xla`, then point it at a PJRT CUDA plugin (see `infty backend`)")
		}
		return openCUDA(DiscoverCUDA(), s.Options)
	default:
		if filepath.IsAbs(s.Plugin) && !isFile(s.Plugin) {
			return nil, fmt.Errorf("backend xla: plugin file %s does not exist", s.Plugin)
		}
		return withTimeout(func() (compute.Backend, error) { return openXLA(s.Plugin, s.Options) })
	}
}

// openCUDA checks everything that can be checked without loading the plugin,
// so a machine with no plugin or no GPU gets its answer at once.
func openCUDA(d Discovery, options []string) (compute.Backend, error) {
	if d.Plugin == "" {
		return nil, d.missingPluginError()
	}
	if len(d.GPUDevices) == 0 {
		return nil, fmt.Errorf("backend cuda: no NVIDIA GPU visible (no /dev/nvidia0, /dev/nvidia1, ... device files); "+
			"plugin found at %s. To try the plugin anyway, use --backend xla:%s", d.Plugin, d.Plugin)
	}
	prepareCUDAEnv(d)
	b, err := withTimeout(func() (compute.Backend, error) { return openXLA(d.Plugin, options) })
	if err != nil {
		if missing := d.MissingLibraryDirs(os.Getenv("LD_LIBRARY_PATH")); len(missing) > 0 {
			return nil, fmt.Errorf("%w\nThe nvidia libraries beside the plugin are not on LD_LIBRARY_PATH; "+
				"start infty with\n  LD_LIBRARY_PATH=%s", err, d.LDLibraryPath(os.Getenv("LD_LIBRARY_PATH")))
		}
		return nil, err
	}
	return b, nil
}

// prepareCUDAEnv sets what XLA reads from the environment when its client is
// created (after this point, so setting it in-process works, unlike
// LD_LIBRARY_PATH): where libdevice lives, and no second driver check by go-xla,
// whose own guess of the nvidia folder does not fit the pip layout.
func prepareCUDAEnv(d Discovery) {
	if d.CUDADataDir != "" && !strings.Contains(os.Getenv("XLA_FLAGS"), "--xla_gpu_cuda_data_dir") {
		flags := strings.TrimSpace(os.Getenv("XLA_FLAGS") + " --xla_gpu_cuda_data_dir=" + d.CUDADataDir)
		os.Setenv("XLA_FLAGS", flags)
	}
	if _, set := os.LookupEnv("GOPJRT_CUDA_CHECKS"); !set {
		os.Setenv("GOPJRT_CUDA_CHECKS", "0")
	}
}

func withTimeout(open func() (compute.Backend, error)) (compute.Backend, error) {
	type result struct {
		b   compute.Backend
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := open()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-time.After(openTimeout):
		return nil, fmt.Errorf("backend xla: creating the PJRT client did not finish within %v (driver or plugin stuck?)", openTimeout)
	}
}

// IsGo reports whether b is the pure-Go backend.
func IsGo(b compute.Backend) bool {
	return strings.HasPrefix(b.Name(), "Go") // gobackend names itself "Go Backend"
}

// pluginDescriber is implemented by go-xla's backend; asserting on it keeps
// this file free of the XLA import.
type pluginDescriber interface{ PluginName() string }

// Describe is a one-line label for the status bar: backend, plugin and
// device, e.g. "go · CPU, 4 threads" or "xla:cuda · <device>".
func Describe(b compute.Backend) string {
	if b == nil || b.IsFinalized() {
		return "no backend"
	}
	p, isXLA := b.(pluginDescriber)
	if !isXLA {
		if IsGo(b) {
			if m := parallelismRE.FindStringSubmatch(b.Description()); m != nil {
				// The pool may be larger than the machine (GOMAXPROCS, a set parallelism):
				// the cores say what it runs on.
				return fmt.Sprintf("go · CPU, %s threads on %d cores", m[1], runtime.NumCPU())
			}
			return "go · CPU"
		}
		return b.Name()
	}
	plugin := p.PluginName()
	switch {
	case strings.Contains(strings.ToLower(plugin), "cuda"):
		plugin = "cuda"
	case filepath.IsAbs(plugin):
		plugin = filepath.Base(plugin)
	}
	label := b.Name() + ":" + plugin
	if n := b.NumDevices(); n > 0 {
		dev := deviceLabel(b.DeviceDescription(0))
		if n > 1 {
			dev = fmt.Sprintf("%s (+%d more)", dev, n-1)
		}
		if dev != "" {
			label += " · " + dev
		}
	}
	return label
}

var parallelismRE = regexp.MustCompile(`parallelism=(\d+)`)

// deviceLabel shortens a backend's device description to its first line,
// at most 60 characters.
func deviceLabel(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}
