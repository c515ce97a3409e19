//go:build !js

// Package exec_test checks wasm/exec/go_js_wasm_exec, the Node runner for
// GOOS=js GOARCH=wasm binaries with the SIMD GEMM kernel. It runs natively
// and needs node and the go command on PATH (skipped otherwise).
package exec_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildProbe compiles testdata/probe for js/wasm into a temp dir.
func buildProbe(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	out := filepath.Join(t.TempDir(), "probe.wasm")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/probe")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("exec: building the probe: %v\n%s", err, msg)
	}
	return out
}

func TestRunner(t *testing.T) {
	probe := buildProbe(t)
	runner, err := filepath.Abs("go_js_wasm_exec")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStdout string
	}{
		{"kernel on", []string{"0", "two words"}, []string{"PROBE_VALUE=x=1"}, 0,
			`args=["0" "two words"] env="x=1" kernel=1 c=[1 2 8 3 4 18]`},
		{"exit code", []string{"7"}, nil, 7,
			`args=["7"] env="" kernel=1 c=[1 2 8 3 4 18]`},
		{"simd128 build", []string{"0"}, []string{"LOOKALIKE_WASM_KERNEL=simd128"}, 0,
			`args=["0"] env="" kernel=1 c=[1 2 8 3 4 18]`},
		{"fma build", []string{"0"}, []string{"LOOKALIKE_WASM_KERNEL=fma"}, 0,
			`args=["0"] env="" kernel=1 c=[1 2 8 3 4 18]`},
		{"kernel off", []string{"0"}, []string{"LOOKALIKE_WASM_KERNEL=off"}, 0,
			`args=["0"] env="" kernel=0 c=[0 0 0 0 0 0]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(runner, append([]string{probe}, tc.args...)...)
			cmd.Env = append(os.Environ(), "PROBE_VALUE=", "LOOKALIKE_WASM_KERNEL=", "LOOKALIKE_SGEMM_WASM=")
			cmd.Env = append(cmd.Env, tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, tc.wantCode, stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got != tc.wantStdout {
				t.Errorf("stdout %q, want %q", got, tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), "probe: to stderr") {
				t.Errorf("stderr %q lacks the probe's line", stderr.String())
			}
		})
	}
}

func TestRunnerErrors(t *testing.T) {
	probe := buildProbe(t)
	tests := []struct {
		name string
		env  []string
		want string // in the combined output
	}{
		{"missing prebuilt kernel",
			[]string{"LOOKALIKE_SGEMM_WASM=" + filepath.Join(t.TempDir(), "missing.wasm")},
			"LOOKALIKE_WASM_KERNEL=off"},
		{"unknown build", []string{"LOOKALIKE_WASM_KERNEL=avx"}, "want auto, fma, simd128 or off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("./go_js_wasm_exec", probe, "0")
			cmd.Env = append(os.Environ(), "LOOKALIKE_WASM_KERNEL=", "LOOKALIKE_SGEMM_WASM=")
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
				t.Fatalf("want exit code 1, got %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
