package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Environment variables infty reads to find the CUDA PJRT plugin.
const (
	// PluginEnv names the plugin file to use, overriding every search.
	PluginEnv = "INFTY_PJRT_PLUGIN"
	// PJRTPathEnv is go-xla's own list of folders holding PJRT plugins.
	PJRTPathEnv = "PJRT_PLUGIN_LIBRARY_PATH"
)

// Discovery is what a search for the CUDA PJRT plugin found. It only looks at
// the file system: nothing is loaded or executed.
type Discovery struct {
	// Plugin is the absolute path of the plugin, "" when none was found.
	Plugin string
	// Searched lists every place looked at, in order, for error messages.
	Searched []string
	// LibraryDirs are the lib folders of the nvidia-* wheels (or of go-xla's
	// nvidia folder) beside the plugin: they must be on LD_LIBRARY_PATH when the
	// process starts, since the dynamic loader reads it only then.
	LibraryDirs []string
	// CUDADataDir is the folder holding nvvm/libdevice, for XLA's
	// --xla_gpu_cuda_data_dir; "" when not found.
	CUDADataDir string
	// GPUDevices are the /dev/nvidia* device files present.
	GPUDevices []string
}

// MissingLibraryDirs returns the LibraryDirs absent from the given
// LD_LIBRARY_PATH value.
func (d Discovery) MissingLibraryDirs(ldLibraryPath string) []string {
	have := map[string]bool{}
	for _, p := range filepath.SplitList(ldLibraryPath) {
		have[filepath.Clean(p)] = true
	}
	var missing []string
	for _, dir := range d.LibraryDirs {
		if !have[filepath.Clean(dir)] {
			missing = append(missing, dir)
		}
	}
	return missing
}

// LDLibraryPath returns ldLibraryPath with the missing LibraryDirs put in front.
func (d Discovery) LDLibraryPath(ldLibraryPath string) string {
	parts := d.MissingLibraryDirs(ldLibraryPath)
	if ldLibraryPath != "" {
		parts = append(parts, ldLibraryPath)
	}
	return strings.Join(parts, string(os.PathListSeparator))
}

// searcher holds what discovery depends on, so tests can fake a machine: a
// file-system root for the fixed system paths, the environment and the home.
type searcher struct {
	root   string // prefix for fixed absolute paths ("/" on a real machine)
	getenv func(string) string
	home   string
}

func defaultSearcher() searcher {
	home, _ := os.UserHomeDir()
	return searcher{root: "/", getenv: os.Getenv, home: home}
}

// DiscoverCUDA looks for the CUDA PJRT plugin, the nvidia libraries beside it
// and the GPU device files, in this order:
//
//  1. $INFTY_PJRT_PLUGIN (a file);
//  2. the folders of $PJRT_PLUGIN_LIBRARY_PATH, then go-xla's install folders
//     (~/.local/lib/go-xla/nvidia, /usr/local/lib/go-xla/nvidia, ...), for a
//     file named like pjrt_c_api_cuda_plugin.so;
//  3. Python site-packages folders (the active virtualenv or conda env, the
//     python3 found on PATH, ~/.local, /usr/local, /opt/*/.venv, /opt/conda)
//     for jax_plugins/xla_cuda13/xla_cuda_plugin.so, then xla_cuda12.
func DiscoverCUDA() Discovery { return defaultSearcher().discoverCUDA() }

func (s searcher) sys(p string) string { return filepath.Join(s.root, p) }

func (s searcher) discoverCUDA() Discovery {
	var d Discovery
	d.GPUDevices = s.gpuDevices()
	if p := s.getenv(PluginEnv); p != "" {
		d.Searched = append(d.Searched, "$"+PluginEnv+"="+p)
		if abs, err := filepath.Abs(p); err == nil && isFile(abs) {
			d.Plugin = abs
		}
		// An explicit choice that is wrong must not silently fall back to another plugin.
		d.fillLibraries()
		return d
	}
	for _, dir := range s.pjrtDirs() {
		d.Searched = append(d.Searched, dir)
		for _, pattern := range []string{"pjrt_c_api_cuda*_plugin.so", "pjrt-plugin-cuda*.so", "pjrt_plugin_cuda*.so"} {
			m, _ := filepath.Glob(filepath.Join(dir, pattern))
			slices.Sort(m)
			for _, f := range m {
				if isFile(f) {
					d.Plugin = f
					d.fillLibraries()
					return d
				}
			}
		}
	}
	for _, sp := range s.sitePackages() {
		d.Searched = append(d.Searched, filepath.Join(sp, "jax_plugins", "xla_cuda{13,12}", "xla_cuda_plugin.so"))
		for _, sub := range []string{"xla_cuda13", "xla_cuda12"} {
			f := filepath.Join(sp, "jax_plugins", sub, "xla_cuda_plugin.so")
			if isFile(f) {
				d.Plugin = f
				d.fillLibraries()
				return d
			}
		}
	}
	return d
}

// pjrtDirs mirrors go-xla's plugin search folders (pjrt.osDefaultLibraryPaths),
// CUDA sub-folders first, without the system library folders.
func (s searcher) pjrtDirs() []string {
	var dirs []string
	if v := s.getenv(PJRTPathEnv); v != "" {
		for _, p := range filepath.SplitList(v) {
			if p != "" {
				dirs = append(dirs, p)
			}
		}
	}
	if s.home != "" {
		goxla := filepath.Join(s.home, ".local", "lib", "go-xla")
		dirs = append(dirs, filepath.Join(goxla, "nvidia"), goxla, filepath.Join(s.home, ".local", "lib", "gomlx", "pjrt"))
	}
	dirs = append(dirs, s.sys("/usr/local/lib/go-xla/nvidia"), s.sys("/usr/local/lib/go-xla"), s.sys("/usr/local/lib/gomlx/pjrt"))
	return dedupe(dirs)
}

// sitePackages lists candidate Python site-packages folders that exist,
// without running Python.
func (s searcher) sitePackages() []string {
	var prefixes []string // folders holding lib/python3.*/site-packages
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if v := s.getenv(env); v != "" {
			prefixes = append(prefixes, v)
		}
	}
	var dirs []string
	for _, p := range filepath.SplitList(s.getenv("PYTHONPATH")) {
		if p != "" {
			dirs = append(dirs, p)
		}
	}
	// A python3 on PATH lives in <prefix>/bin; a virtualenv's python3 is a
	// symlink, so the folder it is found in (not its target) names the env.
	for _, p := range filepath.SplitList(s.getenv("PATH")) {
		if p == "" {
			continue
		}
		if isFile(filepath.Join(p, "python3")) || isFile(filepath.Join(p, "python")) {
			prefixes = append(prefixes, filepath.Dir(p))
		}
	}
	if s.home != "" {
		prefixes = append(prefixes, filepath.Join(s.home, ".local"))
	}
	prefixes = append(prefixes, s.sys("/usr/local"), s.sys("/usr"), s.sys("/opt/conda"))
	venvs, _ := filepath.Glob(s.sys("/opt/*/.venv"))
	prefixes = append(prefixes, venvs...)
	venvs, _ = filepath.Glob(s.sys("/opt/*/venv"))
	prefixes = append(prefixes, venvs...)
	for _, prefix := range prefixes {
		for _, pattern := range []string{"lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages"} {
			m, _ := filepath.Glob(filepath.Join(prefix, pattern))
			slices.Sort(m)
			slices.Reverse(m) // newest Python first (python3.12 before python3.10)
			dirs = append(dirs, m...)
		}
	}
	// /lib is often a link to /usr/lib: look at each real folder once.
	var out []string
	seen := map[string]bool{}
	for _, d := range dedupe(dirs) {
		real, err := filepath.EvalSymlinks(d)
		if err != nil || seen[real] || !isDir(real) {
			continue
		}
		seen[real] = true
		out = append(out, d)
	}
	return out
}

// fillLibraries finds the nvidia library folders that belong with the plugin:
// pip puts them in site-packages/nvidia/<pkg>/lib (CUDA 13 wheels share
// nvidia/cu13/lib), two levels above jax_plugins/xla_cuda13/; go-xla's
// installer puts the plugin itself inside its nvidia/ folder.
func (d *Discovery) fillLibraries() {
	if d.Plugin == "" {
		return
	}
	dir := filepath.Dir(d.Plugin)
	roots := []string{filepath.Join(dir, "..", "..", "nvidia"), filepath.Join(dir, "..", "nvidia")}
	if filepath.Base(dir) == "nvidia" {
		roots = append([]string{dir}, roots...)
	}
	for _, root := range roots {
		root = filepath.Clean(root)
		if !isDir(root) {
			continue
		}
		libs, _ := filepath.Glob(filepath.Join(root, "*", "lib"))
		slices.Sort(libs)
		for _, l := range libs {
			if isDir(l) {
				d.LibraryDirs = append(d.LibraryDirs, l)
			}
		}
		if d.CUDADataDir == "" {
			if m, _ := filepath.Glob(filepath.Join(root, "*", "nvvm", "libdevice")); len(m) > 0 {
				slices.Sort(m)
				d.CUDADataDir = filepath.Dir(filepath.Dir(m[0]))
			}
		}
	}
	d.LibraryDirs = dedupe(d.LibraryDirs)
}

func (s searcher) gpuDevices() []string {
	m, _ := filepath.Glob(s.sys("/dev/nvidia[0-9]*"))
	return m
}

// missingPluginError explains where the plugin was looked for and how to get one.
func (d Discovery) missingPluginError() error {
	var b strings.Builder
	if len(d.Searched) == 1 && strings.HasPrefix(d.Searched[0], "$"+PluginEnv) {
		fmt.Fprintf(&b, "backend cuda: %s is set but is not a plugin file", d.Searched[0])
		return fmt.Errorf("%s", b.String())
	}
	b.WriteString("backend cuda: no PJRT CUDA plugin found. Searched: ")
	b.WriteString(strings.Join(d.Searched, "; "))
	b.WriteString(". Get one with `pip install \"jax[cuda13]\"` (the jax-cuda13-pjrt wheel ships " +
		"jax_plugins/xla_cuda13/xla_cuda_plugin.so, with the nvidia-* library wheels) or go-xla's installer " +
		"(`go run github.com/gomlx/go-xla/cmd/pjrt_installer@latest -autoinstall`, into ~/.local/lib/go-xla/nvidia), or point $" + PluginEnv + " at the .so file")
	return fmt.Errorf("%s", b.String())
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		c := filepath.Clean(s)
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}
