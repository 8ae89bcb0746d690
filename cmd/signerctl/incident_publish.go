package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// publish signs the next revocation list (its exact entries keep the
// key's pre-T signatures valid offline) and the CA's next CRL.
func (r *incidentRun) publish() error {
	ctx, trust := r.cmd.Context(), signerv1.NewTrustServiceClient(r.conn)
	list, err := trust.PublishRevocationList(ctx, &signerv1.PublishRevocationListRequest{NextUpdate: durationpb.New(r.o.nextUpdate)})
	if err != nil {
		return rpcError("publish revocation list", err)
	}
	r.st.ListFile = filepath.Join(r.o.out, "revocation.json")
	if err := writeSigFile(r.st.ListFile, list.GetRevocationList()); err != nil {
		return err
	}
	r.st.ListVersion = list.GetVersion()
	crl, err := trust.IssueCrl(ctx, &signerv1.IssueCrlRequest{Ca: r.o.crlCA, NextUpdate: durationpb.New(r.o.nextUpdate)})
	if err != nil {
		return rpcError("issue crl", err)
	}
	r.st.CRLFile = filepath.Join(r.o.out, crl.GetFileName())
	if err := writeSigFile(r.st.CRLFile, crl.GetCrl()); err != nil {
		return err
	}
	r.st.CRLNumber = crl.GetNumber()
	r.logf("published revocation list version %d (%s) and CRL number %d of CA %s (%s)", r.st.ListVersion, r.st.ListFile, r.st.CRLNumber, r.o.crlCA, r.st.CRLFile)
	return nil
}

// bundle exports the next trust bundle with the list and the CRL. A
// directory an interrupted export left behind is ours to replace: the
// state says the export did not finish.
func (r *incidentRun) bundle() error {
	dir := filepath.Join(r.o.out, fmt.Sprintf("bundle-v%d", r.o.bundleVersion))
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	o := bundleExportOptions{
		conn: r.o.conn, key: r.o.bundleKey, config: r.o.bundleConfig, keyURI: r.o.bundleKeyURI,
		signerCert: r.o.bundleSignerCert, version: r.o.bundleVersion, out: dir,
		revocationList: r.st.ListFile, crls: []string{r.st.CRLFile},
	}
	// Its progress goes to stderr: stdout is the plan or the summary.
	quiet := &cobra.Command{}
	quiet.SetContext(r.cmd.Context())
	quiet.SetOut(r.cmd.ErrOrStderr())
	if err := runBundleExport(quiet, o); err != nil {
		return err
	}
	r.st.BundleDir, r.st.BundleVersion = dir, r.o.bundleVersion
	return nil
}
