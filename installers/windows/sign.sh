#!/usr/bin/env bash
# Authenticode-sign Windows executables and MSI packages with osslsigncode, then verify them.
#
#   installers/windows/sign.sh FILE...          (each FILE is signed in place, then verified)
#   installers/windows/sign.sh --verify FILE... (verify only)
#
# The key, from one of (checked in this order):
#   PKCS#11 token / HSM:  FIELDKIT_SIGN_PKCS11_MODULE  path of the token's PKCS#11 module
#                         FIELDKIT_SIGN_PKCS11_KEY     the key as a pkcs11: URI
#                         FIELDKIT_SIGN_CERT           the code-signing certificate (+ chain), PEM
#                         FIELDKIT_SIGN_PKCS11_ENGINE  optional: the engine (.so) osslsigncode
#                                                      should load, when it has no provider
#                         (the token PIN is part of the URI, e.g. ...;pin-value=..., or is
#                          asked by the module)
#   PKCS#12 file:         FIELDKIT_SIGN_PKCS12 (file), FIELDKIT_SIGN_PASS_FILE (its password)
#   key and certificate:  FIELDKIT_SIGN_KEY (PEM or DER private key), FIELDKIT_SIGN_CERT
#                         (certificate + chain, PEM), FIELDKIT_SIGN_PASS_FILE if encrypted
# Optional:
#   FIELDKIT_SIGN_TIMESTAMP_URL  an RFC 3161 time-stamping service (e.g. the CA's). Without it
#                                the signature is valid only while the certificate is; with it,
#                                it stays valid after the certificate expires. Release builds
#                                must set it; the tests run offline and do not.
#   FIELDKIT_SIGN_CAFILE         CA bundle (PEM) to verify against (the test CA in the tests;
#                                default: the system bundle /etc/ssl/certs/ca-certificates.crt)
#   FIELDKIT_SIGN_TSA_CAFILE     CA bundle of the time-stamping authority, for verification
#   FIELDKIT_SIGN_NAME           description shown by Windows (default: fieldkit)
#   FIELDKIT_SIGN_URL            the URL shown with it (default: https://fieldkit.se)
# Exit status: 0 when every file is signed and verifies; 2 on a usage or configuration error;
# 1 when signing or verification fails (the file is then left as it was before signing).
set -euo pipefail

die() { echo "sign: $*" >&2; exit 2; }
command -v osslsigncode >/dev/null || die "osslsigncode is missing (Debian package osslsigncode)."

verify_only=0
if [ "${1:-}" = "--verify" ]; then verify_only=1; shift; fi
[ $# -ge 1 ] || die "usage: sign.sh [--verify] FILE..."

CAFILE=${FIELDKIT_SIGN_CAFILE:-/etc/ssl/certs/ca-certificates.crt}
[ -r "$CAFILE" ] || die "CA bundle $CAFILE cannot be read (FIELDKIT_SIGN_CAFILE)."

verify() {
  local file=$1 label=${2:-$1} out
  local args=(verify -in "$file" -CAfile "$CAFILE")
  [ -n "${FIELDKIT_SIGN_TSA_CAFILE:-}" ] && args+=(-TSA-CAfile "$FIELDKIT_SIGN_TSA_CAFILE")
  if out=$(osslsigncode "${args[@]}" 2>&1) && grep -q "^Signature verification: ok" <<<"$out"; then
    echo "sign: verified $label"
    return 0
  fi
  echo "$out" | tail -n 5 >&2
  echo "sign: VERIFICATION FAILED: $label" >&2
  return 1
}

key_args() {
  if [ -n "${FIELDKIT_SIGN_PKCS11_MODULE:-}" ]; then
    [ -n "${FIELDKIT_SIGN_PKCS11_KEY:-}" ] || die "FIELDKIT_SIGN_PKCS11_KEY (a pkcs11: URI) is not set."
    [ -r "${FIELDKIT_SIGN_CERT:-}" ] || die "FIELDKIT_SIGN_CERT (the certificate, PEM) is not set or unreadable."
    KEY_ARGS=(-pkcs11module "$FIELDKIT_SIGN_PKCS11_MODULE" -key "$FIELDKIT_SIGN_PKCS11_KEY"
              -certs "$FIELDKIT_SIGN_CERT")
    [ -n "${FIELDKIT_SIGN_PKCS11_ENGINE:-}" ] && KEY_ARGS+=(-pkcs11engine "$FIELDKIT_SIGN_PKCS11_ENGINE")
  elif [ -n "${FIELDKIT_SIGN_PKCS12:-}" ]; then
    [ -r "$FIELDKIT_SIGN_PKCS12" ] || die "FIELDKIT_SIGN_PKCS12 $FIELDKIT_SIGN_PKCS12 cannot be read."
    KEY_ARGS=(-pkcs12 "$FIELDKIT_SIGN_PKCS12")
  elif [ -n "${FIELDKIT_SIGN_KEY:-}" ]; then
    [ -r "$FIELDKIT_SIGN_KEY" ] || die "FIELDKIT_SIGN_KEY $FIELDKIT_SIGN_KEY cannot be read."
    [ -r "${FIELDKIT_SIGN_CERT:-}" ] || die "FIELDKIT_SIGN_CERT (the certificate, PEM) is not set or unreadable."
    KEY_ARGS=(-key "$FIELDKIT_SIGN_KEY" -certs "$FIELDKIT_SIGN_CERT")
  else
    die "no signing key: set FIELDKIT_SIGN_PKCS11_MODULE, FIELDKIT_SIGN_PKCS12 or FIELDKIT_SIGN_KEY (see the top of this script)."
  fi
  if [ -n "${FIELDKIT_SIGN_PASS_FILE:-}" ]; then
    [ -r "$FIELDKIT_SIGN_PASS_FILE" ] || die "FIELDKIT_SIGN_PASS_FILE cannot be read."
    KEY_ARGS+=(-readpass "$FIELDKIT_SIGN_PASS_FILE")
  fi
}

status=0
if [ $verify_only = 0 ]; then
  key_args
  for file in "$@"; do
    [ -f "$file" ] || die "$file does not exist"
    tmp="$file.signing"
    args=(sign -h sha256 -n "${FIELDKIT_SIGN_NAME:-fieldkit}" -i "${FIELDKIT_SIGN_URL:-https://fieldkit.se}"
          "${KEY_ARGS[@]}" -in "$file" -out "$tmp")
    [ -n "${FIELDKIT_SIGN_TIMESTAMP_URL:-}" ] && args+=(-ts "$FIELDKIT_SIGN_TIMESTAMP_URL")
    rm -f "$tmp"
    if ! osslsigncode "${args[@]}" >/dev/null 2>"$tmp.err"; then
      cat "$tmp.err" >&2; rm -f "$tmp" "$tmp.err"
      echo "sign: SIGNING FAILED: $file" >&2
      status=1
      continue
    fi
    rm -f "$tmp.err"
    if verify "$tmp" "$file"; then
      mv "$tmp" "$file"
      echo "sign: signed $file"
    else
      rm -f "$tmp"
      status=1
    fi
  done
else
  for file in "$@"; do
    [ -f "$file" ] || die "$file does not exist"
    verify "$file" || status=1
  done
fi
exit $status
