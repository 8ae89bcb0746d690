import java.io.FileInputStream;
import java.io.InputStream;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * PKIXCheck validates a certificate path with the JDK's PKIX validator, as
 * the ecosystem's Java verifier does.
 *
 * Usage: java PKIXCheck <epoch-millis> <root.pem> <leaf.pem> [intermediate.pem ...]
 * Exit status: 0 valid, 1 rejected by PKIX or not a code-signing leaf, 2 usage or I/O error.
 */
public class PKIXCheck {
    private static final String CODE_SIGNING = "1.3.6.1.5.5.7.3.3";

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: PKIXCheck <epoch-millis> <root.pem> <leaf.pem> [intermediate.pem ...]");
            System.exit(2);
        }
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate root = read(cf, args[1]);
        List<X509Certificate> path = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            path.add(read(cf, args[i]));
        }
        try {
            CertPath certPath = cf.generateCertPath(path);
            PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
            params.setRevocationEnabled(false);
            params.setDate(new Date(Long.parseLong(args[0])));
            CertPathValidator.getInstance("PKIX").validate(certPath, params);
            List<String> eku = path.get(0).getExtendedKeyUsage();
            if (eku != null && !eku.contains(CODE_SIGNING)) {
                System.out.println("REJECTED: leaf is not a code-signing certificate");
                System.exit(1);
            }
            System.out.println("VALID " + path.get(0).getSigAlgName());
        } catch (CertPathValidatorException e) {
            System.out.println("REJECTED: " + e.getMessage());
            System.exit(1);
        }
    }

    private static X509Certificate read(CertificateFactory cf, String file) throws Exception {
        try (InputStream in = new FileInputStream(file)) {
            return (X509Certificate) cf.generateCertificate(in);
        }
    }
}
