package bundle

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"math/big"
	"path"
	"strings"
	"time"

	"github.com/appsign/signer/internal/chain"
)

// Plan is what Install does, or did, to a trust store.
type Plan struct {
	// BundleVersion is the bundle's version; InstalledVersion the
	// store's before the install (0: none).
	BundleVersion    uint64
	InstalledVersion uint64
	// UpToDate is true when the same version is already installed:
	// nothing is changed.
	UpToDate bool
	// Add are files written; Remove files deleted (expired, or withdrawn
	// from the bundle); Unchanged bundle files already in place. Paths are
	// relative to the trust store; revocation data is under RevocationDir.
	Add, Remove, Unchanged []Change
	// Warnings are things an operator must act on (from Verify, and about
	// the trust store's own files).
	Warnings []string
}

// Change is one file of a Plan.
type Change struct {
	// File is the path relative to the trust-store folder.
	File string
	Role string
	// Subject is the certificate's subject or the CRL's or list's issuer.
	Subject   string
	NotBefore time.Time
	NotAfter  time.Time
	// Note says why a file is removed, or what is special about it.
	Note string
}

// String renders the plan for people: one line per file, prefixed with
// "+" (add), "-" (remove) or "=" (unchanged), then the warnings.
func (p Plan) String() string {
	var b strings.Builder
	if p.UpToDate {
		fmt.Fprintf(&b, "bundle version %d is already installed: nothing to do\n", p.BundleVersion)
	} else {
		fmt.Fprintf(&b, "bundle version %d (installed: %s)\n", p.BundleVersion, versionText(p.InstalledVersion))
	}
	for _, g := range []struct {
		mark    string
		changes []Change
	}{{"+", p.Add}, {"-", p.Remove}, {"=", p.Unchanged}} {
		for _, c := range g.changes {
			fmt.Fprintf(&b, "%s %s  %s  %s", g.mark, c.File, c.Role, c.Subject)
			if !c.NotAfter.IsZero() {
				fmt.Fprintf(&b, "  %s .. %s", c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly))
			}
			if c.Note != "" {
				fmt.Fprintf(&b, "  (%s)", c.Note)
			}
			b.WriteByte('\n')
		}
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

func versionText(v uint64) string {
	if v == 0 {
		return "none"
	}
	return fmt.Sprint(v)
}

// installation is a verified bundle, the store it goes into, and the plan
// with the content of every file to add.
type installation struct {
	plan     Plan
	verified *Verified
	writes   map[string][]byte // by Change.File
}

// planInstall verifies the bundle against the store's own roots (plus a
// bootstrap fingerprint) and works out the changes.
func planInstall(bundleDir, storeDir string, now time.Time, opts InstallOptions) (*installation, error) {
	st, err := readStore(storeDir)
	if err != nil {
		return nil, fmt.Errorf("trust store %s: %w", storeDir, err)
	}
	ts := chain.NewTrustStore(st.certificates()...)
	v, err := Verify(bundleDir, Trust{Roots: ts.Roots(), Intermediates: ts.Intermediates(), BootstrapFingerprint: opts.BootstrapFingerprint}, now)
	if err != nil {
		return nil, err
	}
	inst := &installation{
		plan:     Plan{BundleVersion: v.Manifest.BundleVersion, InstalledVersion: st.version},
		verified: v,
		writes:   make(map[string][]byte),
	}
	p := &inst.plan
	p.Warnings = append(p.Warnings, v.Warnings...)
	p.Warnings = append(p.Warnings, st.warnings...)
	switch {
	case p.BundleVersion < p.InstalledVersion:
		return nil, fmt.Errorf("%w: bundle version %d is older than the installed version %d", ErrDowngrade, p.BundleVersion, p.InstalledVersion)
	case p.BundleVersion == p.InstalledVersion:
		p.UpToDate = true
		p.Warnings = append(p.Warnings, storeExpiryWarnings(st, nil, now)...)
		return inst, nil
	}
	if err := inst.planCertificates(st, now); err != nil {
		return nil, err
	}
	inst.planRevocationList(st)
	inst.planCRLs(st)
	return inst, nil
}

func (inst *installation) planCertificates(st *storeState, now time.Time) error {
	p, v := &inst.plan, inst.verified
	inBundle := make(map[string]bool)
	for _, tc := range v.Certificates {
		inBundle[tc.FileName] = true
		c := certChange(tc.FileName, tc.Role, tc.Cert)
		if sf, ok := st.file(tc.FileName); ok {
			if !bytes.Equal(sf.data, []byte(tc.PEM)) && (len(sf.certs) != 1 || !sf.certs[0].Equal(tc.Cert)) {
				return fmt.Errorf("%s: %w: the trust store has a file of this name with other content", tc.FileName, ErrConflict)
			}
			p.Unchanged = append(p.Unchanged, c)
			continue
		}
		if now.Before(tc.Cert.NotBefore) {
			c.Note = "not valid before " + tc.Cert.NotBefore.UTC().Format(time.RFC3339) + ": pre-positioned for a rotation"
		}
		p.Add = append(p.Add, c)
		inst.writes[c.File] = []byte(tc.PEM)
	}
	removed := make(map[string]bool)
	for _, sf := range st.files {
		if inBundle[sf.name] || sf.certs == nil {
			continue
		}
		c := certChange(sf.name, storeRole(sf.certs), sf.certs[0])
		if len(sf.certs) > 1 {
			c.Subject = fmt.Sprintf("%d certificates", len(sf.certs))
		}
		if latest := latestNotAfter(sf.certs); now.After(latest) {
			c.Note = "expired at " + latest.UTC().Format(time.RFC3339)
			p.Remove = append(p.Remove, c)
			removed[sf.name] = true
			continue
		}
		e := st.installedEntry(sf.name)
		if e == nil || (e.Role != RoleRoot && e.Role != RoleIntermediate) {
			continue // not ours: never removed unless expired
		}
		if sum, _ := fileDigests(sf.data); sum != e.SHA256 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: withdrawn from bundle version %d but changed since bundle version %d installed it: left alone, remove it by hand",
				sf.name, p.BundleVersion, st.installed.BundleVersion))
			continue
		}
		c.Note = fmt.Sprintf("withdrawn: installed by bundle version %d, not in version %d", st.installed.BundleVersion, p.BundleVersion)
		p.Remove = append(p.Remove, c)
		removed[sf.name] = true
	}
	p.Warnings = append(p.Warnings, storeExpiryWarnings(st, func(name string) bool { return inBundle[name] || removed[name] }, now)...)
	return nil
}

// storeExpiryWarnings warns about store files (other than skipped ones)
// holding certificates that are expired or expire within ExpiryWarning.
func storeExpiryWarnings(st *storeState, skip func(string) bool, now time.Time) []string {
	var out []string
	for _, sf := range st.files {
		if sf.certs == nil || (skip != nil && skip(sf.name)) {
			continue
		}
		for _, c := range sf.certs {
			switch {
			case now.After(c.NotAfter):
				out = append(out, fmt.Sprintf("%s: certificate %q expired at %s", sf.name, c.Subject, c.NotAfter.UTC().Format(time.RFC3339)))
			case c.NotAfter.Before(now.Add(ExpiryWarning)):
				out = append(out, fmt.Sprintf("%s: certificate %q expires at %s, in %d days", sf.name, c.Subject, c.NotAfter.UTC().Format(time.RFC3339), int(c.NotAfter.Sub(now).Hours()/24)))
			}
		}
	}
	return out
}

func (inst *installation) planRevocationList(st *storeState) {
	p, v := &inst.plan, inst.verified
	if v.RevocationList == nil {
		return // keep whatever list is installed: revocations never vanish
	}
	s, _ := describe(RoleRevocationList, v.RevocationList) // verified already
	c := Change{File: path.Join(RevocationDir, RevocationListFile), Role: RoleRevocationList, Subject: s.Subject, NotBefore: s.NotBefore, NotAfter: s.NotAfter}
	switch {
	case st.revVersion > v.RevocationListVersion:
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: keeping the installed revocation list version %d, newer than the bundle's version %d",
			c.File, st.revVersion, v.RevocationListVersion))
	case bytes.Equal(st.revList, v.RevocationList):
		p.Unchanged = append(p.Unchanged, c)
	default:
		c.Note = fmt.Sprintf("revocation list version %d", v.RevocationListVersion)
		p.Add = append(p.Add, c)
		inst.writes[c.File] = v.RevocationList
	}
}

func (inst *installation) planCRLs(st *storeState) {
	p, v := &inst.plan, inst.verified
	// The highest CRL number per issuer that this install leaves in place.
	installing := make(map[string]*big.Int)
	inBundle := make(map[string]bool)
	for _, f := range v.CRLs {
		inBundle[f.Name] = true
		crl, _ := x509.ParseRevocationList(f.DER) // verified already
		c := Change{File: path.Join(RevocationDir, f.Name), Role: RoleCRL, Subject: f.Issuer, NotBefore: crl.ThisUpdate, NotAfter: crl.NextUpdate}
		switch newer := newerInstalledCRL(st, crl); {
		case st.crlData[f.Name] != nil:
			p.Unchanged = append(p.Unchanged, c)
		case newer != "":
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: not installed: %s has a higher CRL number for %q", c.File, newer, f.Issuer))
			continue
		default:
			p.Add = append(p.Add, c)
			inst.writes[c.File] = f.DER
		}
		if n := installing[f.Issuer]; n == nil || (crl.Number != nil && crl.Number.Cmp(n) > 0) {
			installing[f.Issuer] = crl.Number
		}
	}
	for _, name := range sortedKeys(st.crlData) {
		if inBundle[name] {
			continue
		}
		crl := st.crls[name]
		c := Change{File: path.Join(RevocationDir, name), Role: RoleCRL}
		switch {
		case crl == nil:
			c.Note = "unreadable"
		case supersedes(installing[crl.Issuer.String()], crl.Number):
			c.Subject, c.NotBefore, c.NotAfter = crl.Issuer.String(), crl.ThisUpdate, crl.NextUpdate
			c.Note = "superseded by the bundle's CRL"
		default:
			continue
		}
		p.Remove = append(p.Remove, c)
	}
}

// supersedes reports whether a CRL numbered n replaces one numbered old.
func supersedes(n, old *big.Int) bool {
	return n != nil && (old == nil || n.Cmp(old) >= 0)
}

// newerInstalledCRL names an installed CRL of crl's issuer with a higher
// number, or returns "".
func newerInstalledCRL(st *storeState, crl *x509.RevocationList) string {
	for _, name := range sortedKeys(st.crls) {
		old := st.crls[name]
		if old != nil && old.Issuer.String() == crl.Issuer.String() && old.Number != nil && crl.Number != nil && old.Number.Cmp(crl.Number) > 0 {
			return path.Join(RevocationDir, name)
		}
	}
	return ""
}

func certChange(name, role string, c *x509.Certificate) Change {
	return Change{File: name, Role: role, Subject: c.Subject.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}

// storeRole classifies a store file by its first certificate.
func storeRole(certs []*x509.Certificate) string {
	c := certs[0]
	switch {
	case c.IsCA && bytes.Equal(c.RawSubject, c.RawIssuer):
		return RoleRoot
	case c.IsCA:
		return RoleIntermediate
	}
	return "certificate"
}

func latestNotAfter(certs []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range certs {
		if c.NotAfter.After(t) {
			t = c.NotAfter
		}
	}
	return t
}
