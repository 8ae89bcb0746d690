package kmsemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxSkew is how far X-Amz-Date may be from the server's clock, as in AWS.
const maxSkew = 15 * time.Minute

// sigv4 is a parsed "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." header.
type sigv4 struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

func parseAuthorization(h string) (sigv4, bool) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigv4{}, false
	}
	var a sigv4
	for part := range strings.SplitSeq(rest, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sigv4{}, false
		}
		switch name {
		case "Credential":
			c := strings.Split(value, "/")
			if len(c) != 5 || c[4] != "aws4_request" {
				return sigv4{}, false
			}
			a.accessKeyID, a.date, a.region, a.service = c[0], c[1], c[2], c[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(value, ";")
		case "Signature":
			a.signature = value
		}
	}
	if a.accessKeyID == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return sigv4{}, false
	}
	return a, true
}

// authenticate checks the request's SigV4 Authorization header: the access
// key id, the credential scope, the clock skew and, when the secret access
// key is configured, the signature itself. Error messages never include
// the secret.
func (s *Server) authenticate(r *http.Request, body []byte) *apiError {
	h := r.Header.Get("Authorization")
	if h == "" {
		return errorf("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	a, ok := parseAuthorization(h)
	if !ok {
		return errorf("IncompleteSignatureException", "Authorization header is not a well-formed AWS4-HMAC-SHA256 signature")
	}
	if s.opts.AccessKeyID != "" && a.accessKeyID != s.opts.AccessKeyID {
		return errorf("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if a.service != "kms" || a.region != s.opts.Region {
		return errorf("InvalidSignatureException", "Credential should be scoped to service kms in region %s.", s.opts.Region)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, a.date) {
		return errorf("IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope")
	}
	if d := s.now().Sub(t); d > maxSkew || d < -maxSkew {
		return errorf("InvalidSignatureException", "Signature expired: %s is not within %s of the server's time.", amzDate, maxSkew)
	}
	if !slices.Contains(a.signedHeaders, "host") || !slices.Contains(a.signedHeaders, "x-amz-date") {
		return errorf("InvalidSignatureException", "SignedHeaders must include host and x-amz-date")
	}
	if s.opts.SecretAccessKey == "" {
		return nil
	}
	want := signature(s.opts.SecretAccessKey, a, amzDate, canonicalRequest(r, a.signedHeaders, body))
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return errorf("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

func canonicalRequest(r *http.Request, signed []string, body []byte) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path + "\n")
	b.WriteString(strings.ReplaceAll(r.URL.Query().Encode(), "+", "%20") + "\n")
	for _, name := range signed {
		var v string
		switch name {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			vals := r.Header.Values(name)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		b.WriteString(name + ":" + v + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n")
	sum := sha256.Sum256(body)
	b.WriteString(hex.EncodeToString(sum[:]))
	return b.String()
}

func signature(secret string, a sigv4, amzDate, canonical string) string {
	mac := func(k []byte, s string) []byte {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	scope := strings.Join([]string{a.date, a.region, a.service, "aws4_request"}, "/")
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := mac([]byte("AWS4"+secret), a.date)
	k = mac(k, a.region)
	k = mac(k, a.service)
	k = mac(k, "aws4_request")
	return hex.EncodeToString(mac(k, toSign))
}
