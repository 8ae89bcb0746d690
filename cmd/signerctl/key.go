package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

func newKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage signing keys: create, list, rotate, retire (security-admin)",
	}
	cmd.AddCommand(newKeyCreateCommand(), newKeyListCommand(), newKeyRotateCommand(), newKeyRetireCommand())
	return cmd
}

// backendFlags are --backend and --attr, shared by create and rotate.
type backendFlags struct {
	scheme string
	attrs  []string
}

func (b *backendFlags) add(cmd *cobra.Command, required bool) {
	help := "key backend: softkms, sealedkms, awskms or pkcs11"
	if !required {
		help += " (default: the active version's backend)"
	}
	cmd.Flags().StringVar(&b.scheme, "backend", "", help)
	completeValues(cmd, "backend", "softkms", "sealedkms", "awskms", "pkcs11")
	cmd.Flags().StringArrayVar(&b.attrs, "attr", nil, "backend key attribute name=value (repeatable; never a secret)")
	if required {
		requireFlags(cmd, "backend")
	}
}

func (b *backendFlags) spec() (*signerv1.BackendSpec, error) {
	spec := &signerv1.BackendSpec{Scheme: b.scheme, Attributes: map[string]string{}}
	for _, a := range b.attrs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, usagef("--attr %q: want name=value", a)
		}
		spec.Attributes[k] = v
	}
	return spec, nil
}

func newKeyCreateCommand() *cobra.Command {
	var role, output string
	var c client
	var b backendFlags
	cmd := &cobra.Command{
		Use:   "create --server ADDR --role ROLE --backend SCHEME NAME",
		Short: "Create a key and its first version in a backend",
		Args:  exactArgs(1, "one key NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := b.spec()
			if err != nil {
				return err
			}
			return keyCall(cmd, &c, "create key", output, func(ctx context.Context, k signerv1.KeyServiceClient) (*signerv1.CreateKeyResponse, error) {
				return k.CreateKey(ctx, &signerv1.CreateKeyRequest{Name: args[0], Role: role, Backend: spec})
			})
		},
	}
	addConnFlags(cmd, &c)
	b.add(cmd, true)
	cmd.Flags().StringVar(&role, "role", "archive-signing", "archive-signing, ca or ledger")
	completeValues(cmd, "role", "archive-signing", "ca", "ledger")
	addOutputFlag(cmd, &output, "table", "json")
	return cmd
}

func newKeyListCommand() *cobra.Command {
	var output string
	var c client
	cmd := &cobra.Command{
		Use:   "list --server ADDR [--output table|json]",
		Short: "List keys with their versions, states, backends and certificate expiry",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := unary(cmd.Context(), &c, "list keys", func(ctx context.Context, conn *grpc.ClientConn) (*signerv1.ListKeysResponse, error) {
				return signerv1.NewKeyServiceClient(conn).ListKeys(ctx, &signerv1.ListKeysRequest{})
			})
			if err != nil {
				return err
			}
			return printKeys(cmd.OutOrStdout(), output, resp.GetKeys()...)
		},
	}
	addConnFlags(cmd, &c)
	addOutputFlag(cmd, &output, "table", "json")
	return cmd
}

func newKeyRotateCommand() *cobra.Command {
	var output, approval string
	var c client
	var b backendFlags
	cmd := &cobra.Command{
		Use:   "rotate --server ADDR [--backend SCHEME] [--attr k=v] NAME",
		Short: "Create a new version with a new certificate and switch to it atomically",
		Long: `Rotate a key: create a new key in the backend (default: the backend of the
active version), issue its signing certificate from the intermediate CA, and
make it the active version in one transaction. Requests in flight finish
with the old version; the next ones use the new one. The old version stays
available for verification and replays.`,
		Args: exactArgs(1, "one key NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := b.spec()
			if err != nil {
				return err
			}
			return keyCall(cmd, &c, "rotate key", output, func(ctx context.Context, k signerv1.KeyServiceClient) (*signerv1.RotateKeyResponse, error) {
				return k.RotateKey(ctx, &signerv1.RotateKeyRequest{Name: args[0], Backend: spec, ApprovalId: approval})
			})
		},
	}
	addConnFlags(cmd, &c)
	b.add(cmd, false)
	addOutputFlag(cmd, &output, "table", "json")
	cmd.Flags().StringVar(&approval, "approval", "", "approval id (required for CA keys: see `signerctl approval`)")
	return cmd
}

func newKeyRetireCommand() *cobra.Command {
	var output string
	var c client
	var version int32
	cmd := &cobra.Command{
		Use:   "retire --server ADDR --version N NAME",
		Short: "Make a key version verify-only",
		Args:  exactArgs(1, "one key NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version <= 0 {
				return usagef("--version %d: want a positive key version", version)
			}
			return keyCall(cmd, &c, "retire key", output, func(ctx context.Context, k signerv1.KeyServiceClient) (*signerv1.RetireKeyResponse, error) {
				return k.RetireKey(ctx, &signerv1.RetireKeyRequest{Name: args[0], Version: version})
			})
		},
	}
	addConnFlags(cmd, &c)
	cmd.Flags().Int32Var(&version, "version", 0, "key version to retire")
	requireFlags(cmd, "version")
	addOutputFlag(cmd, &output, "table", "json")
	return cmd
}

// keyCall makes one KeyService call and prints the key it answers.
func keyCall[R interface{ GetKey() *signerv1.Key }](cmd *cobra.Command, c *client, what, output string, call func(context.Context, signerv1.KeyServiceClient) (R, error)) error {
	return c.with(cmd.Context(), what, func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := call(ctx, signerv1.NewKeyServiceClient(conn))
		if err != nil {
			return err
		}
		return printKeys(cmd.OutOrStdout(), output, resp.GetKey())
	})
}

func printKeys(w io.Writer, output string, keys ...*signerv1.Key) error {
	if output == "json" {
		for _, k := range keys {
			b, err := protojson.Marshal(k)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(b))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tROLE\tVERSION\tSTATE\tBACKEND\tCERT SERIAL\tCERT EXPIRES\tCREATED")
	for _, k := range keys {
		for _, v := range k.GetVersions() {
			expires := "-"
			if v.GetCertificateNotAfter() != nil {
				expires = v.GetCertificateNotAfter().AsTime().Format("2006-01-02")
			}
			state := strings.ToLower(strings.TrimPrefix(v.GetState().String(), "KEY_STATE_"))
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.GetName(), k.GetRole(), strconv.Itoa(int(v.GetVersion())),
				state, v.GetBackend(), orDash(v.GetCertificateSerial()), expires, v.GetCreatedAt().AsTime().UTC().Format(time.DateTime))
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
