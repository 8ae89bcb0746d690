package statement

import (
	"bytes"
	"testing"
)

// FuzzParse: a statement that parses re-encodes to exactly its input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Header + "app-key com.example.app\n"))
	f.Add([]byte(Header))
	f.Add([]byte("appsign.dev/digest-statement/v2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Parse(b)
		if err != nil {
			return
		}
		out, err := st.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("accepted statement is not canonical: %v", err)
		}
	})
}

// FuzzParseFile: digest-profile signature files and profile detection.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(`{"profile":"digest-v1","statement":"","signature":"","certificate":""}`))
	f.Add([]byte(`{"signature":"AA=="}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DetectProfile(b)
		file, err := ParseFile(b)
		if err != nil {
			return
		}
		out, err := file.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("accepted file is not canonical: %v", err)
		}
	})
}
