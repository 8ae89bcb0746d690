package statement

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestMarshalExact pins the encoding of one statement byte for byte; the
// digests are those printed by sha256sum and sha512sum.
func TestMarshalExact(t *testing.T) {
	st := statementFor([]byte("hello, world\n"))
	want := "appsign.dev/digest-statement/v1\n" +
		"app-key com.example.time-sheets\n" +
		"version 1.4.2\n" +
		"track MARKETPLACE\n" +
		"archive-size 13\n" +
		"archive-sha256 853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020\n" +
		"archive-sha512 f65f341b35981fda842b09b2c8af9bcdb7602a4c2e6fa1f7d41f0974d3e3122f268fc79d5a4af66358f5133885cd1c165c916f80ab25e5d8d95db46f803c782c\n" +
		"signed-at 2026-03-01T11:59:30.123456Z\n" +
		"key-id marketplace-signing\n" +
		"key-version 3\n"
	got, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	base := statementFor([]byte("archive"))
	longest := base
	longest.AppKey = "a" + strings.Repeat(".b", (maxAppKeyLen-1)/2)
	longest.Version = "9" + strings.Repeat("x", maxVersionLen-1)
	longest.Track = TrackPrivateBuild
	longest.ArchiveSize = math.MaxInt64
	longest.KeyID = "k" + strings.Repeat("/", maxKeyIDLen-1)
	longest.KeyVersion = math.MaxInt32

	tests := []struct {
		name string
		edit func(*Statement)
	}{
		{"typical", func(*Statement) {}},
		{"private build, semver with build metadata", func(s *Statement) {
			s.Track, s.Version = TrackPrivateBuild, "2.0.0-rc.1+build.7"
		}},
		{"whole second", func(s *Statement) { s.SignedAt = testNow }},
		{"local time zone is encoded in UTC", func(s *Statement) {
			s.SignedAt = time.Date(2026, 3, 1, 13, 0, 0, 1000, time.FixedZone("CET", 3600))
		}},
		{"one-byte archive, first key version", func(s *Statement) { s.ArchiveSize, s.KeyVersion = 1, 1 }},
		{"KMS alias as key id", func(s *Statement) { s.KeyID = "alias/signer/digest-2026" }},
		{"app key with digits and underscores", func(s *Statement) { s.AppKey = "com.example_1.2fa-app" }},
		{"longest fields", func(s *Statement) { *s = longest }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base
			tt.edit(&st)
			b, err := st.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse(Marshal()): %v\n%s", err, b)
			}
			if !got.Equal(st) || !got.SignedAt.Equal(st.SignedAt) || got.SignedAt.Location() != time.UTC {
				t.Fatalf("Parse(Marshal()) = %+v, want %+v", got, st)
			}
			again, err := got.Marshal()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("Marshal(Parse(b)) = %q, %v; want %q", again, err, b)
			}
		})
	}
}

func TestMarshalInvalid(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Statement)
	}{
		{"empty app key", func(s *Statement) { s.AppKey = "" }},
		{"one-segment app key", func(s *Statement) { s.AppKey = "timesheets" }},
		{"app key starting with a digit", func(s *Statement) { s.AppKey = "1com.example" }},
		{"app key with a space", func(s *Statement) { s.AppKey = "com.example app" }},
		{"app key with a newline", func(s *Statement) { s.AppKey = "com.example\nversion 9" }},
		{"app key too long", func(s *Statement) { s.AppKey = "a." + strings.Repeat("b", maxAppKeyLen-1) }},
		{"empty version", func(s *Statement) { s.Version = "" }},
		{"version starting with v", func(s *Statement) { s.Version = "v1.0" }},
		{"version with a slash", func(s *Statement) { s.Version = "1.0/2" }},
		{"version too long", func(s *Statement) { s.Version = strings.Repeat("1", maxVersionLen+1) }},
		{"empty track", func(s *Statement) { s.Track = "" }},
		{"lowercase track", func(s *Statement) { s.Track = "marketplace" }},
		{"API enum name as track", func(s *Statement) { s.Track = "TRACK_MARKETPLACE" }},
		{"zero archive size", func(s *Statement) { s.ArchiveSize = 0 }},
		{"negative archive size", func(s *Statement) { s.ArchiveSize = -1 }},
		{"short SHA-256", func(s *Statement) { s.SHA256 = s.SHA256[:31] }},
		{"SHA-512 in SHA-256", func(s *Statement) { s.SHA256 = s.SHA512 }},
		{"nil SHA-512", func(s *Statement) { s.SHA512 = nil }},
		{"zero time", func(s *Statement) { s.SignedAt = time.Time{} }},
		{"nanosecond precision", func(s *Statement) { s.SignedAt = testNow.Add(time.Nanosecond) }},
		{"year 10000", func(s *Statement) { s.SignedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"empty key id", func(s *Statement) { s.KeyID = "" }},
		{"key id with a space", func(s *Statement) { s.KeyID = "marketplace signing" }},
		{"key id starting with a dash", func(s *Statement) { s.KeyID = "-signing" }},
		{"key id too long", func(s *Statement) { s.KeyID = strings.Repeat("k", maxKeyIDLen+1) }},
		{"zero key version", func(s *Statement) { s.KeyVersion = 0 }},
		{"negative key version", func(s *Statement) { s.KeyVersion = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := statementFor([]byte("archive"))
			tt.edit(&st)
			b, err := st.Marshal()
			if !errors.Is(err, ErrInvalidStatement) || b != nil {
				t.Fatalf("Marshal = %q, %v; want ErrInvalidStatement", b, err)
			}
			t.Logf("error: %v", err)
		})
	}
}

// TestSizeBound checks the 4096-byte bound AWS KMS imposes: the grammar
// cannot produce a larger statement, and Parse refuses larger input first.
func TestSizeBound(t *testing.T) {
	if maxEncodedSize > MaxSize {
		t.Fatalf("the grammar allows %d-byte statements, limit %d", maxEncodedSize, MaxSize)
	}
	st := statementFor([]byte("archive"))
	st.AppKey = "a." + strings.Repeat("b", maxAppKeyLen-2)
	st.Version = strings.Repeat("1", maxVersionLen)
	st.Track = TrackPrivateBuild
	st.ArchiveSize = math.MaxInt64
	st.KeyID = strings.Repeat("k", maxKeyIDLen)
	st.KeyVersion = math.MaxInt32
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != maxEncodedSize {
		t.Fatalf("longest statement is %d bytes, maxEncodedSize says %d", len(b), maxEncodedSize)
	}
	t.Logf("longest statement: %d bytes of %d", len(b), MaxSize)

	tests := []struct {
		name  string
		input []byte
		ok    bool
	}{
		{"longest statement", b, true},
		{"MaxSize bytes", append(bytes.Clone(b), bytes.Repeat([]byte("x"), MaxSize-len(b))...), false},
		{"MaxSize+1 bytes", append(bytes.Clone(b), bytes.Repeat([]byte("x"), MaxSize+1-len(b))...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.input)
			if (err == nil) != tt.ok {
				t.Fatalf("Parse(%d bytes) = %v, ok = %v", len(tt.input), err, tt.ok)
			}
			if !tt.ok && len(tt.input) > MaxSize && !strings.Contains(err.Error(), "limit") {
				t.Errorf("oversize input not refused for its size: %v", err)
			}
		})
	}
}

func TestHasReservedPrefix(t *testing.T) {
	stmt, err := statementFor([]byte("x")).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"v1 statement", stmt, true},
		{"future version", []byte("appsign.dev/digest-statement/v2\n"), true},
		{"exactly the prefix", []byte(ReservedPrefix), true},
		{"JAR", []byte("PK\x03\x04\x14\x00\x08\x00"), false},
		{"shorter than the prefix", []byte("appsign.dev/"), false},
		{"empty", nil, false},
		{"leading space", append([]byte(" "), stmt...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HasReservedPrefix(tt.in); got != tt.want {
				t.Fatalf("HasReservedPrefix(%.20q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
