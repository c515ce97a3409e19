package imageprep

import (
	"errors"
	"strings"
	"testing"
)

// A file that is not an image is refused without quoting it: the message
// reaches build reports, and the file may be anything (issue #14: the
// builder, pointed at /etc/passwd, wrote "root:x:0" as hex into one).
func TestNotAnImageQuotesNoBytes(t *testing.T) {
	data := []byte("root:x:0:0:root:/root:/bin/bash\n")
	_, _, err := Decode(data, Options{})
	if !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("err = %v, want ErrUnsupportedFormat", err)
	}
	for _, leak := range []string{"root", "72 6f 6f 74", "726f6f74", "bash"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q quotes the file (%q)", err, leak)
		}
	}
}
