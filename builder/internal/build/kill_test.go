//go:build !js

package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lookalike/lookalike/builder/internal/atomicfile"
	"github.com/lookalike/lookalike/builder/internal/buildtest"
	"github.com/lookalike/lookalike/models/catalog"
)

// Real builds in child processes (this test binary re-run with
// btChildEnv), ended with SIGKILL — no deferred code, no flush — at chosen
// points: after N embedded images, or with the K-th file written under its
// temporary name. The parent then checks what a kill may cost.

// btChildEnv carries a btChild as JSON.
const btChildEnv = "LOOKALIKE_BUILD_TEST_CHILD"

// btChild is what the child build does.
type btChild struct {
	Args []string `json:"args"`
	// KillAfterImages > 0: SIGKILL right after the N-th image's
	// embedding went to the cache.
	KillAfterImages int `json:"kill_after_images,omitempty"`
	// KillAtFile > 0: SIGKILL when the K-th file (asset, part or
	// manifest) is written in full but not yet renamed into place.
	KillAtFile int `json:"kill_at_file,omitempty"`
	// SleepMS after each embedded image: a slow machine.
	SleepMS int `json:"sleep_ms,omitempty"`
	// Times, when set, gets one line per embedded image: its unix time
	// in nanoseconds.
	Times string `json:"times,omitempty"`
	// Started, when set, is created once the first image is embedded;
	// the child then waits until Release exists.
	Started string `json:"started,omitempty"`
	Release string `json:"release,omitempty"`
}

// TestBuildChildProcess is not a test of its own: it is the child build of
// the tests below (skipped without btChildEnv).
func TestBuildChildProcess(t *testing.T) {
	spec := os.Getenv(btChildEnv)
	if spec == "" {
		t.Skip("only runs as a child of the kill and lock tests")
	}
	var c btChild
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		t.Fatal(err)
	}
	kill := func() {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	var times *os.File
	if c.Times != "" {
		var err error
		if times, err = os.OpenFile(c.Times, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var images, files atomic.Int64
	embedBatchHook = func() {
		n := images.Add(1)
		if times != nil {
			// One write per line: it is in the kernel before the kill.
			times.WriteString(strconv.FormatInt(time.Now().UnixNano(), 10) + "\n")
		}
		if c.KillAfterImages > 0 && n == int64(c.KillAfterImages) {
			kill()
		}
		if n == 1 && c.Started != "" {
			os.WriteFile(c.Started, nil, 0o644)
			for {
				if _, err := os.Stat(c.Release); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		time.Sleep(time.Duration(c.SleepMS) * time.Millisecond)
	}
	atomicfile.BeforeRename = func(path string) {
		if filepath.Base(path) == "build-report.json" {
			return
		}
		if c.KillAtFile > 0 && files.Add(1) == int64(c.KillAtFile) {
			kill()
		}
	}
	cfg, err := ParseBuildFlags(c.Args)
	if err != nil {
		t.Fatal(err)
	}
	if err := Build(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child build:", err)
		os.Exit(3)
	}
	if c.KillAfterImages > 0 || c.KillAtFile > 0 {
		t.Fatal("the build finished before it was killed")
	}
}

// btStartChild starts the child build.
func btStartChild(t *testing.T, c btChild) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	spec, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), btChildEnv+"="+string(spec))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// btRunKilled runs the child and requires that it died of SIGKILL.
func btRunKilled(t *testing.T, c btChild) {
	t.Helper()
	cmd, out := btStartChild(t, c)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed: %v\n%s", err, out)
	}
}

// btConsistent checks that manifest.json, if there is one, names only
// whole files with the listed size and sha256 (a killed build may leave
// temporary files; they are named by no manifest).
func btConsistent(t *testing.T, out string) *catalog.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := catalog.ReadManifest(b)
	if err != nil {
		t.Fatalf("manifest.json does not read: %v", err)
	}
	for _, a := range m.Assets {
		var joined []byte
		for _, p := range btFilesOf(a) {
			pb, err := os.ReadFile(filepath.Join(out, p.File))
			if err != nil {
				t.Fatalf("the manifest names %s: %v", p.File, err)
			}
			if int64(len(pb)) != p.Size || catalog.SHA256Hex(pb) != p.SHA256 {
				t.Fatalf("%s is %d bytes (sha256 %s), the manifest says %d (%s): a partial or foreign file", p.File, len(pb), catalog.SHA256Hex(pb)[:12], p.Size, p.SHA256[:12])
			}
			joined = append(joined, pb...)
		}
		if catalog.SHA256Hex(joined) != a.SHA256 {
			t.Fatalf("%s: its parts do not join to the listed sha256", a.File)
		}
	}
	return m
}

// btFilesOf lists the files of an asset: its parts, or the file itself.
func btFilesOf(a catalog.Asset) []catalog.Part {
	if len(a.Parts) > 0 {
		return a.Parts
	}
	return []catalog.Part{{File: a.File, SHA256: a.SHA256, Size: a.Size}}
}

// btKillFixture is a published build of one catalogue and a second
// catalogue version (every photo changed) to kill builds of.
func btKillFixture(t *testing.T, n int) (model, out string, next *buildtest.Fixture) {
	model = buildtest.TinyModel(t)
	first := buildtest.NewFixture(t, n)
	out = t.TempDir()
	if r := btBuild(t, model, first.Catalog(), out, t.TempDir()); r.err != nil {
		t.Fatal(r.err)
	}
	next = buildtest.NewFixture(t, n)
	for i := 0; i < n; i++ {
		next.WriteImage(t, "images/p"+strconv.Itoa(i)+".jpg", buildtest.JPEG(t, buildtest.Photo(i, 7)))
	}
	return model, out, next
}

// TestBuildKilledLosesAtMostTwoSeconds: a build killed after N images
// (several N, below and above the 64-record flush) is resumed by the next
// run, which re-embeds at most what the killed build produced in its last
// two seconds; the previous build's manifest stays whole throughout.
// The child embeds one image per 100 ms (a slow machine): without the
// cache's timed flush it would lose every image since the last 64.
func TestBuildKilledLosesAtMostTwoSeconds(t *testing.T) {
	const n = 120
	model, out, next := btKillFixture(t, n)
	for _, kill := range []int{5, 40, 63, 100} {
		t.Run("after "+strconv.Itoa(kill)+" images", func(t *testing.T) {
			cache := t.TempDir()
			times := filepath.Join(t.TempDir(), "times")
			args := []string{"--catalog", next.Catalog(), "--out", out, "--model", model, "--cache", cache, "--workers", "1", "--batch", "1"}
			btRunKilled(t, btChild{Args: args, KillAfterImages: kill, SleepMS: 100, Times: times})
			btConsistent(t, out)

			b, err := os.ReadFile(times)
			if err != nil {
				t.Fatal(err)
			}
			var stamps []int64
			for _, l := range strings.Fields(string(b)) {
				v, _ := strconv.ParseInt(l, 10, 64)
				stamps = append(stamps, v)
			}
			if len(stamps) != kill {
				t.Fatalf("the child embedded %d images, want %d", len(stamps), kill)
			}
			killedAt := stamps[len(stamps)-1]
			recent := 0
			for _, s := range stamps {
				if killedAt-s <= int64(2*time.Second) {
					recent++
				}
			}

			r := btBuild(t, model, next.Catalog(), out, cache, "--workers", "1", "--batch", "1")
			if r.err != nil {
				t.Fatalf("rerun: %v\n%s", r.err, r.log)
			}
			lost := kill - r.report.FromCache
			t.Logf("killed after %d images over %.1f s: the rerun took %d from the cache and embedded %d; %d lost, %d were from the last 2 s",
				kill, float64(killedAt-stamps[0])/1e9, r.report.FromCache, r.report.Embedded, lost, recent)
			if r.report.FromCache > kill || r.report.Embedded+r.report.FromCache != n {
				t.Errorf("rerun: %d from the cache, %d embedded, of %d", r.report.FromCache, r.report.Embedded, n)
			}
			if lost > recent {
				t.Errorf("the rerun re-embedded %d images the killed build had finished; only %d were from its last 2 s", lost, recent)
			}
			btCheckPublished(t, out)
		})
	}
}

// TestBuildKilledWhileWritingAssets: killed with the K-th file (each
// asset, part and the manifest) written under its temporary name, a build
// leaves the previous manifest naming whole files; the next build
// publishes and clears the temporary files.
func TestBuildKilledWhileWritingAssets(t *testing.T) {
	model, out, next := btKillFixture(t, 40)
	cache := t.TempDir()
	// Embed once so the killed runs spend their time writing assets.
	warm := t.TempDir()
	if r := btBuild(t, model, next.Catalog(), warm, cache); r.err != nil {
		t.Fatal(r.err)
	}
	m := buildtest.Manifest(t, warm)
	files := 1 // the manifest, and every asset file not already in out
	for _, a := range m.Assets {
		for _, p := range btFilesOf(a) {
			if _, err := os.Stat(filepath.Join(out, p.File)); err != nil {
				files++
			}
		}
	}
	before, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= files; k++ {
		// Each kill on a copy of the published folder: files an earlier
		// kill renamed into place would not be written again.
		dir := btCopyDir(t, out)
		args := []string{"--catalog", next.Catalog(), "--out", dir, "--model", model, "--cache", cache}
		btRunKilled(t, btChild{Args: args, KillAtFile: k})
		now, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil || !bytes.Equal(now, before) {
			t.Fatalf("killed at file %d of %d: the published manifest changed (%v)", k, files, err)
		}
		btConsistent(t, dir)
		if k == files {
			if r := btBuild(t, model, next.Catalog(), dir, cache); r.err != nil {
				t.Fatal(r.err)
			}
			btCheckPublished(t, dir)
		}
	}
}

// btCopyDir copies the regular files of dir into a new folder.
func btCopyDir(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestBuildLockOneAtATime: a second build into a folder another is
// writing fails at once, names the folder and the other's pid, and
// changes nothing; the first publishes a whole build.
func TestBuildLockOneAtATime(t *testing.T) {
	model, out, next := btKillFixture(t, 30)
	cache := t.TempDir()
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	args := []string{"--catalog", next.Catalog(), "--out", out, "--model", model, "--cache", cache, "--workers", "1", "--batch", "1"}
	a, aout := btStartChild(t, btChild{Args: args, Started: started, Release: release})
	aDone := make(chan error, 1)
	go func() { aDone <- a.Wait() }()
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		select {
		case err := <-aDone:
			t.Fatalf("build A ended before it was held: %v\n%s", err, aout)
		case <-time.After(20 * time.Millisecond):
		}
	}
	report, _ := os.ReadFile(filepath.Join(out, "build-report.json"))
	cfg, err := ParseBuildFlags([]string{"--catalog", next.Catalog(), "--out", out, "--model", model, "--cache", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Log = &bytes.Buffer{}
	err = Build(context.Background(), cfg)
	var le *lockedError
	if !errors.As(err, &le) || le.pid != a.Process.Pid ||
		!strings.Contains(err.Error(), "another build is writing "+out+" (pid "+strconv.Itoa(a.Process.Pid)+")") {
		t.Fatalf("build B while A runs: %v; want \"another build is writing %s (pid %d)\"", err, out, a.Process.Pid)
	}
	if now, _ := os.ReadFile(filepath.Join(out, "build-report.json")); !bytes.Equal(now, report) {
		t.Error("the refused build rewrote build-report.json")
	}
	btConsistent(t, out)
	os.WriteFile(release, nil, 0o644)
	if err := <-aDone; err != nil {
		t.Fatalf("build A: %v\n%s", err, aout)
	}
	btCheckPublished(t, out)
	// Its lock went with it.
	if r := btBuild(t, model, next.Catalog(), out, cache); r.err != nil {
		t.Fatalf("a build after A: %v", r.err)
	}
}

// TestBuildTwoAtOnce starts two real builds of different catalogues into
// one folder at the same moment, several times, and checks the folder
// while they run and after: whenever a manifest is there it names whole
// files, each build either publishes or is refused by the lock, and the
// last manifest is one of the two catalogues.
func TestBuildTwoAtOnce(t *testing.T) {
	model, out, next := btKillFixture(t, 30)
	first := buildtest.NewFixture(t, 30) // the fixture's first catalogue, again
	cache := t.TempDir()
	for round := 0; round < 4; round++ {
		var cmds []*exec.Cmd
		var outs []*bytes.Buffer
		for _, f := range []*buildtest.Fixture{first, next} {
			args := []string{"--catalog", f.Catalog(), "--out", out, "--model", model, "--cache", cache, "--workers", "1"}
			c, o := btStartChild(t, btChild{Args: args, SleepMS: round * 10})
			cmds, outs = append(cmds, c), append(outs, o)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, c := range cmds {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = c.Wait() }()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		checks := 0
	watch:
		for {
			select {
			case <-done:
				break watch
			case <-time.After(5 * time.Millisecond):
				btConsistentSnapshot(t, out)
				checks++
			}
		}
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case strings.Contains(outs[i].String(), "another build is writing "+out+" (pid "):
			default:
				t.Fatalf("round %d build %d: %v\n%s", round, i, err, outs[i])
			}
		}
		if ok == 0 {
			t.Fatalf("round %d: neither build published", round)
		}
		m := btCheckPublished(t, out)
		t.Logf("round %d: %d of 2 builds published, %d checks of the folder while they ran; %d items", round, ok, checks, m.ItemCount)
	}
}

// btConsistentSnapshot is btConsistent for a folder a build may be
// publishing into: a file missing under a manifest that has since been
// replaced is the old build's stale file, not an inconsistency.
func btConsistentSnapshot(t *testing.T, out string) {
	t.Helper()
	for try := 0; try < 100; try++ {
		before, err := os.ReadFile(filepath.Join(out, "manifest.json"))
		if err != nil {
			return
		}
		m, err := catalog.ReadManifest(before)
		if err != nil {
			t.Fatalf("manifest.json does not read: %v", err)
		}
		bad := ""
		for _, a := range m.Assets {
			for _, p := range btFilesOf(a) {
				pb, err := os.ReadFile(filepath.Join(out, p.File))
				if err != nil || int64(len(pb)) != p.Size || catalog.SHA256Hex(pb) != p.SHA256 {
					bad = fmt.Sprintf("%s (%v)", p.File, err)
				}
			}
		}
		after, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
		if !bytes.Equal(before, after) {
			continue // republished meanwhile: look again
		}
		if bad != "" {
			t.Fatalf("manifest.json names a missing or partial file: %s", bad)
		}
		return
	}
}
