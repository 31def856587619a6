#!/usr/bin/env bash
# Make a THROWAWAY test CA and a code-signing certificate issued by it, for exercising the
# signing scripts offline (make package, tests/packaging). Never for a release; never commit.
#
#   installers/make-test-ca.sh DIR
#
# Writes DIR/ca.pem (the test CA certificate), DIR/codesign.key and DIR/codesign.pem
# (key and certificate with extendedKeyUsage codeSigning), valid for one day. The CA's key is
# deleted once the certificate is issued.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: make-test-ca.sh DIR" >&2; exit 2; }
DIR=$1
mkdir -p "$DIR"
chmod 700 "$DIR"
cd "$DIR"
openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 2 \
  -subj "/CN=fieldkit TEST CA (throwaway)/O=fieldkit tests" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:3072 -nodes -sha256 \
  -subj "/CN=fieldkit TEST code signing (throwaway)/O=fieldkit tests" \
  -keyout codesign.key -out codesign.csr 2>/dev/null
cat > ext.cnf <<'CNF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
CNF
openssl x509 -req -in codesign.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -sha256 \
  -extfile ext.cnf -out codesign.pem 2>/dev/null
rm -f ca.key ca.srl codesign.csr ext.cnf
chmod 600 codesign.key
echo "make-test-ca: $DIR/ca.pem $DIR/codesign.pem $DIR/codesign.key"
