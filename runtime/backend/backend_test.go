package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	t.Setenv(Env, "")
	cases := []struct {
		in   string
		want Spec
	}{
		{"", Spec{Kind: KindGo}},
		{"go", Spec{Kind: KindGo}},
		{" go ", Spec{Kind: KindGo}},
		{"cuda", Spec{Kind: KindCUDA}},
		{"xla:cuda", Spec{Kind: KindCUDA}},
		{"cuda,memory_fraction=0.5, preallocate", Spec{Kind: KindCUDA, Options: []string{"memory_fraction=0.5", "preallocate"}}},
		{"xla:cpu", Spec{Kind: KindXLA, Plugin: "cpu"}},
		{"xla:/opt/p/xla_cuda_plugin.so,notf32", Spec{Kind: KindXLA, Plugin: "/opt/p/xla_cuda_plugin.so", Options: []string{"notf32"}}},
	}
	for _, c := range cases {
		got, err := ParseSpec(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for in, want := range map[string]string{
		"tpu":              `unknown backend "tpu"`,
		"xla:":             "name a plugin",
		"xla:rel/p.so":     "must be absolute",
		"go,fast":          "takes no options",
		"GPU":              `unknown backend "GPU"`,
		"cuda-but-not-xla": "unknown backend",
	} {
		_, err := ParseSpec(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSpec(%q) error = %v, want it to say %q", in, err, want)
		}
	}
}

func TestDefaultIsPureGo(t *testing.T) {
	t.Setenv(Env, "")
	b, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if !strings.HasPrefix(b.Name(), "Go") {
		t.Errorf("default backend is %q, want the pure-Go one", b.Name())
	}
	if d := Describe(b); !strings.HasPrefix(d, "go · CPU") || strings.Contains(d, "threads") && !strings.Contains(d, fmt.Sprintf("on %d cores", runtime.NumCPU())) {
		t.Errorf("Describe = %q (threads without the cores they run on)", d)
	}
}

func TestEnvHonoured(t *testing.T) {
	t.Setenv(Env, "go")
	b, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	b.Finalize()

	t.Setenv(Env, "abacus")
	if _, err := Open(""); err == nil || !strings.Contains(err.Error(), `"abacus"`) {
		t.Errorf("Open with $%s=abacus: %v", Env, err)
	}
	// An explicit spec wins over the environment.
	if b, err := Open("go"); err != nil {
		t.Errorf("explicit go with a bad $%s: %v", Env, err)
	} else {
		b.Finalize()
	}
	// $INFTY_BACKEND=cuda really selects cuda: it reaches plugin discovery (or, in a build
	// without XLA, the word that the build lacks it).
	t.Setenv(Env, "cuda")
	t.Setenv(PluginEnv, filepath.Join(t.TempDir(), "missing.so"))
	want := "backend cuda: $" + PluginEnv
	if !XLAAvailable {
		want = "backend cuda: this infty binary was built without XLA"
	}
	if _, err := Open(""); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open with $%s=cuda: %v", Env, err)
	}
}

// touch creates a file (and its folders) under root.
func touch(t *testing.T, root string, rel ...string) {
	t.Helper()
	for _, r := range rel {
		p := filepath.Join(root, r)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("not a real library"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdirs(t *testing.T, root string, rel ...string) {
	t.Helper()
	for _, r := range rel {
		if err := os.MkdirAll(filepath.Join(root, r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeMachine is a searcher over an empty temporary file system.
func fakeMachine(t *testing.T, env map[string]string) (searcher, string) {
	root := t.TempDir()
	home := filepath.Join(root, "home", "u")
	mkdirs(t, root, "home/u")
	return searcher{root: root, home: home, getenv: func(k string) string { return env[k] }}, root
}

func TestDiscoverPipLayout(t *testing.T) {
	s, root := fakeMachine(t, nil)
	sp := "opt/torch/.venv/lib/python3.12/site-packages"
	touch(t, root,
		sp+"/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
		sp+"/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
		sp+"/nvidia/cu13/lib/libcudart.so.13",
		sp+"/nvidia/cudnn/lib/libcudnn.so.9",
		sp+"/nvidia/cu13/nvvm/libdevice/libdevice.10.bc",
		"dev/nvidia0", "dev/nvidiactl")
	mkdirs(t, root, sp+"/nvidia/cu13/include") // not a lib folder
	d := s.discoverCUDA()
	if want := filepath.Join(root, sp, "jax_plugins/xla_cuda13/xla_cuda_plugin.so"); d.Plugin != want {
		t.Fatalf("plugin %q, want %q (cuda13 preferred); searched %v", d.Plugin, want, d.Searched)
	}
	wantLibs := []string{filepath.Join(root, sp, "nvidia/cu13/lib"), filepath.Join(root, sp, "nvidia/cudnn/lib")}
	if !reflect.DeepEqual(d.LibraryDirs, wantLibs) {
		t.Errorf("library dirs %v, want %v", d.LibraryDirs, wantLibs)
	}
	if want := filepath.Join(root, sp, "nvidia/cu13"); d.CUDADataDir != want {
		t.Errorf("cuda data dir %q, want %q", d.CUDADataDir, want)
	}
	if want := []string{filepath.Join(root, "dev/nvidia0")}; !reflect.DeepEqual(d.GPUDevices, want) {
		t.Errorf("gpu devices %v, want %v", d.GPUDevices, want)
	}
	ld := d.LDLibraryPath("/usr/lib/x")
	if want := wantLibs[0] + ":" + wantLibs[1] + ":/usr/lib/x"; ld != want {
		t.Errorf("LDLibraryPath = %q, want %q", ld, want)
	}
	if m := d.MissingLibraryDirs(wantLibs[1] + ":" + wantLibs[0] + "/"); len(m) != 0 {
		t.Errorf("missing %v though both are on the path", m)
	}
}

func TestDiscoverCUDA12AndPathPython(t *testing.T) {
	// A virtualenv reached only through the python3 on PATH.
	env := map[string]string{}
	s, root := fakeMachine(t, env)
	env["PATH"] = "/nonexistent:" + filepath.Join(root, "envs/a/bin")
	sp := "envs/a/lib/python3.11/site-packages"
	touch(t, root, "envs/a/bin/python3", sp+"/jax_plugins/xla_cuda12/xla_cuda_plugin.so", sp+"/nvidia/cublas/lib/libcublas.so.12")
	d := s.discoverCUDA()
	if want := filepath.Join(root, sp, "jax_plugins/xla_cuda12/xla_cuda_plugin.so"); d.Plugin != want {
		t.Fatalf("plugin %q, want %q; searched %v", d.Plugin, want, d.Searched)
	}
	if len(d.LibraryDirs) != 1 || !strings.HasSuffix(d.LibraryDirs[0], "nvidia/cublas/lib") {
		t.Errorf("library dirs %v", d.LibraryDirs)
	}
	if len(d.GPUDevices) != 0 {
		t.Errorf("gpu devices %v on a machine without any", d.GPUDevices)
	}
}

func TestDiscoverVirtualEnvBeforeSystem(t *testing.T) {
	env := map[string]string{}
	s, root := fakeMachine(t, env)
	env["VIRTUAL_ENV"] = filepath.Join(root, "work/venv")
	touch(t, root,
		"usr/local/lib/python3.12/dist-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
		"work/venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so")
	d := s.discoverCUDA()
	if !strings.HasPrefix(d.Plugin, filepath.Join(root, "work/venv")) {
		t.Errorf("plugin %q, want the one in $VIRTUAL_ENV", d.Plugin)
	}
}

func TestDiscoverGoXLALayout(t *testing.T) {
	env := map[string]string{}
	s, root := fakeMachine(t, env)
	// go-xla's installer: plugin inside go-xla/nvidia, libraries beside it.
	touch(t, root, "home/u/.local/lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so", "home/u/.local/lib/go-xla/nvidia/cublas/lib/libcublas.so.13",
		"opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so")
	d := s.discoverCUDA()
	if want := filepath.Join(root, "home/u/.local/lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so"); d.Plugin != want {
		t.Fatalf("plugin %q, want %q", d.Plugin, want)
	}
	if len(d.LibraryDirs) != 1 || !strings.HasSuffix(d.LibraryDirs[0], "go-xla/nvidia/cublas/lib") {
		t.Errorf("library dirs %v", d.LibraryDirs)
	}
	// $PJRT_PLUGIN_LIBRARY_PATH comes before go-xla's folders.
	touch(t, root, "plugins/pjrt_c_api_cuda_plugin.so")
	env["PJRT_PLUGIN_LIBRARY_PATH"] = filepath.Join(root, "plugins")
	if d := s.discoverCUDA(); d.Plugin != filepath.Join(root, "plugins/pjrt_c_api_cuda_plugin.so") {
		t.Errorf("plugin %q, want the one in $PJRT_PLUGIN_LIBRARY_PATH", d.Plugin)
	}
	// $INFTY_PJRT_PLUGIN overrides everything, and a wrong one does not fall back.
	touch(t, root, "mine/custom.so")
	env[PluginEnv] = filepath.Join(root, "mine/custom.so")
	if d := s.discoverCUDA(); d.Plugin != env[PluginEnv] {
		t.Errorf("plugin %q, want $%s", d.Plugin, PluginEnv)
	}
	env[PluginEnv] = filepath.Join(root, "mine/nope.so")
	d = s.discoverCUDA()
	if d.Plugin != "" {
		t.Errorf("plugin %q found though $%s names a missing file", d.Plugin, PluginEnv)
	}
	if err := d.missingPluginError(); !strings.Contains(err.Error(), "nope.so") {
		t.Errorf("error %v does not name the file", err)
	}
}

// With no plugin anywhere, cuda fails at once and says where it looked.
func TestCUDANoPluginFailsFast(t *testing.T) {
	s, root := fakeMachine(t, nil)
	start := time.Now()
	_, err := openCUDA(s.discoverCUDA(), nil)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("cuda opened on an empty machine")
	}
	if elapsed > 5*time.Second {
		t.Errorf("took %v to fail", elapsed)
	}
	msg := err.Error()
	for _, want := range []string{
		"no PJRT CUDA plugin found",
		filepath.Join(root, "home/u/.local/lib/go-xla/nvidia"),
		filepath.Join(root, "usr/local/lib/go-xla"),
		"jax[cuda13]",
		PluginEnv,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
}

// A python tree with no jax plugin is listed among the searched places.
func TestCUDANoPluginListsSitePackages(t *testing.T) {
	s, root := fakeMachine(t, nil)
	mkdirs(t, root, "usr/local/lib/python3.12/dist-packages")
	_, err := openCUDA(s.discoverCUDA(), nil)
	want := filepath.Join(root, "usr/local/lib/python3.12/dist-packages/jax_plugins/xla_cuda{13,12}/xla_cuda_plugin.so")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v does not list %s", err, want)
	}
}

func TestCUDANoGPUFailsFast(t *testing.T) {
	s, root := fakeMachine(t, nil)
	touch(t, root, "usr/local/lib/python3.12/dist-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so")
	start := time.Now()
	_, err := openCUDA(s.discoverCUDA(), nil)
	if err == nil || !strings.Contains(err.Error(), "no NVIDIA GPU visible") || !strings.Contains(err.Error(), "xla_cuda_plugin.so") {
		t.Errorf("error = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v to fail", time.Since(start))
	}
}

// A binary built without XLA says so for cuda, not that a plugin is missing.
func TestCUDAWithoutXLABuildSaysSo(t *testing.T) {
	if XLAAvailable {
		t.Skip("built with XLA")
	}
	_, err := Open("cuda")
	if err == nil || !strings.Contains(err.Error(), "-tags xla") || strings.Contains(err.Error(), "no PJRT CUDA plugin") {
		t.Errorf("error = %v; want the missing build tag", err)
	}
}

// The real Open("cuda") on this machine, with the user's plugin folders
// pointed at empty ones: whatever the machine holds, it answers promptly.
func TestOpenCUDAOnThisMachineAnswersPromptly(t *testing.T) {
	tmp := t.TempDir()
	for _, k := range []string{PluginEnv, "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", tmp)
	t.Setenv("PATH", tmp)
	t.Setenv(PJRTPathEnv, tmp)
	t.Setenv("XLA_FLAGS", os.Getenv("XLA_FLAGS"))
	t.Setenv("GOPJRT_CUDA_CHECKS", os.Getenv("GOPJRT_CUDA_CHECKS"))
	start := time.Now()
	b, err := Open("cuda")
	if time.Since(start) > 5*time.Second {
		t.Errorf("Open(cuda) took %v", time.Since(start))
	}
	if err == nil {
		t.Logf("this machine has a working CUDA backend: %s", Describe(b))
		b.Finalize()
		return
	}
	if !strings.Contains(err.Error(), "backend") {
		t.Errorf("unhelpful error: %v", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("Open(cuda) created %d entries in $HOME", len(entries))
	}
}

// A found plugin that cannot be used gets the LD_LIBRARY_PATH hint.
func TestCUDAOpenFailureSuggestsLibraryPath(t *testing.T) {
	t.Setenv("XLA_FLAGS", "")
	t.Setenv("GOPJRT_CUDA_CHECKS", "")
	os.Unsetenv("GOPJRT_CUDA_CHECKS")
	t.Setenv("LD_LIBRARY_PATH", "")
	s, root := fakeMachine(t, nil)
	sp := "usr/local/lib/python3.12/dist-packages"
	touch(t, root, sp+"/jax_plugins/xla_cuda13/xla_cuda_plugin.so", sp+"/nvidia/cu13/lib/libcudart.so.13",
		sp+"/nvidia/cu13/nvvm/libdevice/libdevice.10.bc", "dev/nvidia0")
	_, err := openCUDA(s.discoverCUDA(), nil)
	if err == nil {
		t.Fatal("a fake plugin opened")
	}
	if want := "LD_LIBRARY_PATH=" + filepath.Join(root, sp, "nvidia/cu13/lib"); !strings.Contains(err.Error(), want) {
		t.Errorf("error does not suggest %q:\n%v", want, err)
	}
	if !XLAAvailable && !strings.Contains(err.Error(), "built without XLA") {
		t.Errorf("error does not say XLA is missing from the build: %v", err)
	}
	if got, want := os.Getenv("XLA_FLAGS"), "--xla_gpu_cuda_data_dir="+filepath.Join(root, sp, "nvidia/cu13"); got != want {
		t.Errorf("XLA_FLAGS = %q, want %q", got, want)
	}
	if os.Getenv("GOPJRT_CUDA_CHECKS") != "0" {
		t.Error("go-xla's own CUDA checks left on")
	}
}

func TestOpenXLAMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pjrt_c_api_cuda_plugin.so")
	_, err := Open("xla:" + p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("error = %v", err)
	}
}

func TestDeviceLabel(t *testing.T) {
	if got := deviceLabel("  cuda:0 NVIDIA H100\nmore  "); got != "cuda:0 NVIDIA H100" {
		t.Errorf("got %q", got)
	}
	if got := deviceLabel(strings.Repeat("x", 100)); len([]rune(got)) != 60 {
		t.Errorf("not shortened: %q", got)
	}
	if Describe(nil) != "no backend" {
		t.Error("Describe(nil)")
	}
}
