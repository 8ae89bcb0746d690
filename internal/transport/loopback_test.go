package transport

import "testing"

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		name, addr string
		want       bool
		wantErr    bool
	}{
		{"ipv4 loopback", "127.0.0.1:7420", true, false},
		{"other 127/8", "127.1.2.3:1", true, false},
		{"ipv6 loopback", "[::1]:7420", true, false},
		{"localhost", "localhost:7420", true, false},
		{"all interfaces", ":7420", false, false},
		{"unspecified", "0.0.0.0:7420", false, false},
		{"private", "10.0.0.1:7420", false, false},
		{"hostname", "signer.example.com:443", false, false},
		{"no port", "127.0.0.1", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IsLoopback(tt.addr)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("IsLoopback(%q) = %v, %v; want %v, err %v", tt.addr, got, err, tt.want, tt.wantErr)
			}
			if err := RequireLoopback(tt.addr); (err == nil) != tt.want {
				t.Fatalf("RequireLoopback(%q) = %v", tt.addr, err)
			}
		})
	}
}
