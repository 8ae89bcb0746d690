package limits

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// ServerOptions returns the gRPC server options that carry the transport
// limits: message size, streams per connection, handshake timeout, and
// keepalive rules that close dead and idle connections and refuse clients
// that ping too often. Append them after any option they should override.
func (l *Limiter) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(l.cfg.MaxMessageSize),
		grpc.MaxSendMsgSize(l.cfg.MaxMessageSize),
		grpc.MaxConcurrentStreams(l.cfg.MaxStreamsPerConnection),
		grpc.ConnectionTimeout(l.cfg.HandshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 5 * time.Minute,
			Time:              time.Minute,
			Timeout:           20 * time.Second,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
	}
}
