//go:build xla && cgo

package backend

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestXLANoAutoInstall runs "xla:cpu" in a child process whose HOME is an
// empty folder and whose proxies lead nowhere: with no plugin installed it must
// fail at once, and go-xla's installer (which would first create
// ~/.local/lib/go-xla, then download) must not have run.
func TestXLANoAutoInstall(t *testing.T) {
	if os.Getenv("INFTY_BACKEND_CHILD") == "1" {
		_, err := Open("xla:cpu")
		if err == nil {
			os.Stdout.WriteString("OPENED\n")
			return
		}
		os.Stdout.WriteString("ERR: " + err.Error() + "\n")
		return
	}
	home := t.TempDir()
	empty := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestXLANoAutoInstall$")
	var env []string
	for _, kv := range os.Environ() {
		// go-xla's own switch (any value disables): infty must not rely on it.
		if !strings.HasPrefix(kv, "GOMLX_NO_AUTO_INSTALL=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"INFTY_BACKEND_CHILD=1",
		"HOME="+home,
		PJRTPathEnv+"="+empty, // go-xla reads it at init: search only this empty folder
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY=", "no_proxy=",
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	if elapsed > 30*time.Second {
		t.Errorf("xla:cpu with no plugin took %v", elapsed)
	}
	if !strings.Contains(string(out), "ERR: ") || !strings.Contains(string(out), "no plugins found") {
		t.Errorf("child output:\n%s", out)
	}
	var created []string
	filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error {
		if p != home {
			created = append(created, p)
		}
		return nil
	})
	if len(created) > 0 {
		t.Errorf("opening xla:cpu created files in $HOME (auto-install ran): %v", created)
	}
}

// Loading a file that is not a plugin fails with an error naming it.
func TestXLAFakePlugin(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pjrt_c_api_fake_plugin.so")
	if err := os.WriteFile(p, []byte("not ELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open("xla:" + p)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("error = %v", err)
	}
}
