#!/usr/bin/env bash
# The production quickstart of docs/operations.md, as one script: from an
# empty PostgreSQL database to `signer serve` with mutual TLS on loopback, a
# first signature over mTLS, verified offline, the health probes and the
# metrics. `integration` TestQuickstart runs it, and checks that every command
# the docs show is in it, so the two cannot drift apart.
#
# Needs on PATH: signer, signerctl (make build puts them in .bin), openssl, curl.
# Environment:
#   DATABASE_ADMIN_URL    a superuser's URL of an empty database (roles, migrations)
#   SERVICE_DATABASE_URL  the same database as the service role signer_service
#   QS_DIR                work directory (default ./signer-quickstart); must not exist
#   SIGNER_PORT, SIGNER_METRICS_PORT   loopback ports (default 8443, 9443)
#   QS_KEEP_RUNNING=1     leave the server running at the end (default: stop it)
set -euo pipefail
: "${DATABASE_ADMIN_URL:?set DATABASE_ADMIN_URL to a superuser URL of an empty database}"
: "${SERVICE_DATABASE_URL:?set SERVICE_DATABASE_URL to that database as signer_service}"
QS_DIR=${QS_DIR:-./signer-quickstart}
SIGNER_PORT=${SIGNER_PORT:-8443}
SIGNER_METRICS_PORT=${SIGNER_METRICS_PORT:-9443}
EXAMPLES=$(cd "$(dirname "$0")/../docs/examples" && pwd)
step() { printf '\n== %s\n' "$*"; }

mkdir -m 700 "$QS_DIR"
cd "$QS_DIR"
mkdir -m 700 keys tls pki spool checkpoints

step "1. Database and roles"
DATABASE_URL="$DATABASE_ADMIN_URL" signer db roles

step "2. CA ceremony"
cat > ceremony.yaml <<EOF
backends:
  softkms: {dir: $PWD/keys}
EOF
for name in root-ca marketplace-ca private-build-ca revocation-signer; do
  signerctl ca keygen --config ceremony.yaml --backend softkms --name $name --purpose $name
done
key() { echo "softkms:path=$PWD/keys/$1.key"; }
signerctl ca root --config ceremony.yaml --key "$(key root-ca)" --cn "appsign root CA" --out pki/root-ca.crt
signerctl ca intermediate --config ceremony.yaml --parent-cert pki/root-ca.crt --parent-key "$(key root-ca)" \
  --key "$(key marketplace-ca)" --origin marketplace --cn "appsign marketplace CA" --out pki/marketplace-ca.crt
signerctl ca intermediate --config ceremony.yaml --parent-cert pki/root-ca.crt --parent-key "$(key root-ca)" \
  --key "$(key private-build-ca)" --origin private-build --cn "appsign private-build CA" --out pki/private-build-ca.crt
signerctl ca signer --config ceremony.yaml --parent-cert pki/root-ca.crt --parent-key "$(key root-ca)" \
  --key "$(key revocation-signer)" --role revocation --cn "appsign revocation signer" --out pki/revocation-signer.crt

step "3. TLS: a transport CA, the server certificate, client certificates"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -subj "/CN=appsign transport CA" -keyout tls/ca.key -out tls/ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue() { # NAME EXTENSIONS
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "tls/$1.key" -out "tls/$1.csr" 2>/dev/null
  printf '%b\n' "$2" > "tls/$1.ext"
  openssl x509 -req -in "tls/$1.csr" -CA tls/ca.crt -CAkey tls/ca.key -CAcreateserial -days 90 \
    -extfile "tls/$1.ext" -out "tls/$1.crt" 2>/dev/null
  chmod 600 "tls/$1.key"
}
issue server "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature"
issue pipeline "subjectAltName=URI:spiffe://appsign/pipeline/review-1\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
issue admin "subjectAltName=URI:spiffe://appsign/security-admin/alice\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
issue prometheus "subjectAltName=URI:spiffe://appsign/ops/prometheus\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
chmod 600 tls/ca.key

step "4. Policy"
cp "$EXAMPLES/policy.yaml" policy.yaml

step "5. Configuration"
cat > signer.yaml <<EOF
listen: 127.0.0.1:$SIGNER_PORT
tls: {cert_file: $PWD/tls/server.crt, key_file: $PWD/tls/server.key, client_ca_file: $PWD/tls/ca.crt}
database: {url_env: DATABASE_URL, max_conns: 16}
spool_dir: $PWD/spool
backends:
  softkms: {dir: $PWD/keys}
keys:
  archive_signing: marketplace-signing
  archive_signing_backend: softkms
  ca: {uri: "$(key marketplace-ca)", certificate: $PWD/pki/marketplace-ca.crt}
  ledger: ledger-checkpoints
  ledger_backend: softkms
ledger:
  origin: signer.example.com/ledger
  checkpoint_dir: $PWD/checkpoints
trust:
  roots: [$PWD/pki/root-ca.crt]
  intermediates: [$PWD/pki/marketplace-ca.crt, $PWD/pki/private-build-ca.crt]
  revocation:
    issuer: appsign marketplace
    list_signer: {uri: "$(key revocation-signer)", certificate: $PWD/pki/revocation-signer.crt}
    cas:
      - {name: marketplace, uri: "$(key marketplace-ca)", certificate: $PWD/pki/marketplace-ca.crt}
      - {name: private-build, uri: "$(key private-build-ca)", certificate: $PWD/pki/private-build-ca.crt}
auth: {policy_file: $PWD/policy.yaml}
metrics:
  listen: 127.0.0.1:$SIGNER_METRICS_PORT
  tls: true
  scrapers: [spiffe://appsign/ops/prometheus]
EOF
chmod 600 signer.yaml

step "6. First start (creates the archive-signing and ledger keys)"
DATABASE_URL="$SERVICE_DATABASE_URL" signer serve --config signer.yaml > serve.log 2>&1 &
echo $! > serve.pid
stop() { kill "$(cat serve.pid)" 2>/dev/null && wait "$(cat serve.pid)" 2>/dev/null || true; }
if [[ ${QS_KEEP_RUNNING:-} != 1 ]]; then trap stop EXIT; fi
for _ in $(seq 120); do
  curl -sf --cacert tls/ca.crt "https://127.0.0.1:$SIGNER_METRICS_PORT/readyz" >/dev/null && break
  kill -0 "$(cat serve.pid)" 2>/dev/null || { cat serve.log; exit 1; }
  sleep 1
done

step "7. First signature over mutual TLS, verified offline"
export SIGNER_SERVER=127.0.0.1:$SIGNER_PORT SIGNER_TLS_CA=$PWD/tls/ca.crt
head -c 100000 /dev/urandom > app.jar
signerctl --tls-cert tls/pipeline.crt --tls-key tls/pipeline.key \
  sign --app-key com.example.hello --version 1.0.0 --review-ref REVIEW-1 app.jar
signerctl --tls-cert tls/pipeline.crt --tls-key tls/pipeline.key bundle get --out truststore
signerctl verify --truststore truststore app.jar

step "8. Health probes and metrics"
curl -sf --cacert tls/ca.crt "https://127.0.0.1:$SIGNER_METRICS_PORT/livez"
curl -sf --cacert tls/ca.crt "https://127.0.0.1:$SIGNER_METRICS_PORT/readyz"
curl -sf --cacert tls/ca.crt --cert tls/prometheus.crt --key tls/prometheus.key \
  "https://127.0.0.1:$SIGNER_METRICS_PORT/metrics" | grep '^signer_signatures_total'
signerctl --tls-cert tls/admin.crt --tls-key tls/admin.key key list

step "9. What is refused"
# Plain HTTP to the TLS operations port gets no metrics; /metrics needs a
# scraper's client certificate (401 without one, 403 for another identity).
if curl -s "http://127.0.0.1:$SIGNER_METRICS_PORT/metrics" | grep -q '^signer_'; then echo "plaintext scrape answered" >&2; exit 1; fi
test "$(curl -s -o /dev/null -w '%{http_code}' --cacert tls/ca.crt "https://127.0.0.1:$SIGNER_METRICS_PORT/metrics")" = 401
test "$(curl -s -o /dev/null -w '%{http_code}' --cacert tls/ca.crt --cert tls/pipeline.crt --key tls/pipeline.key "https://127.0.0.1:$SIGNER_METRICS_PORT/metrics")" = 403
# A client without a certificate is told what to pass.
if SIGNER_TLS_CA= signerctl key list 2>&1; then echo "plaintext signerctl succeeded" >&2; exit 1; fi | grep 'this server requires mutual TLS'
echo "refused: plaintext scrape, scrape without or with a non-scraper certificate, plaintext signerctl"

step "done: signer serve on 127.0.0.1:$SIGNER_PORT (logs in $PWD/serve.log)"
