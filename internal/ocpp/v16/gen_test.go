package v16

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate regenerates the messages from the schema file, when it is present next
// to the repository, and compares with the committed file.
func TestGeneratedUpToDate(t *testing.T) {
	const in = "../../../../shared/ocpp-schemas/ocpp1_6.json"
	if _, err := os.Stat(in); err != nil {
		t.Skipf("schema file %s not found (%v): cannot check that messages_gen.go is up to date", in, err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH: cannot run the generator")
	}
	out := filepath.Join(t.TempDir(), "messages_gen.go")
	cmd := exec.Command(goTool, "run", "../gen", "-in", in, "-pkg", "v16", "-version", "V16", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator failed: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("messages_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("messages_gen.go is stale: run go generate ./internal/ocpp/...")
	}
}
