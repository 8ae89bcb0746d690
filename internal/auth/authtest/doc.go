// Package authtest proves that a gRPC server refuses every method to the
// callers that must not reach it. RunMatrix calls every method of every
// registered service as each caller and checks the status codes against the
// auth policy, so a new RPC cannot ship unprotected:
//
//	services := srv.GRPC.GetServiceInfo()
//	authtest.RunMatrix(t, services, policy,
//		authtest.Caller{Name: "anonymous", Conn: plainConn, Anonymous: true},
//		authtest.Caller{Name: "pipeline", Conn: pipelineConn, Roles: []auth.Role{auth.RolePipeline}},
//		authtest.Caller{Name: "suspended", Conn: noRoleConn, Roles: []auth.Role{}},
//		...)
//
// Certificates for the callers can come from transporttest.CA.Client.
package authtest
