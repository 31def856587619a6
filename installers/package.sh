#!/usr/bin/env bash
# `make package`: build the Linux package and a test-signed MSI, sign the checksums, verify
# everything. Output in dist/release/ (never committed).
#
#   1. the frozen app (installers/build-frozen.sh -> dist/fieldkit)
#   2. the .deb (installers/linux/build-deb.sh), checked with lintian
#   3. the MSI (installers/windows/build-msi.sh) from a test payload: on Linux there is no
#      Windows build of the app, so a real Windows PE executable (setuptools' 64-bit launcher)
#      stands in for fieldkit.exe; executable and MSI are Authenticode-signed with a THROWAWAY
#      test CA made now (installers/make-test-ca.sh) and verified (installers/windows/sign.sh)
#   4. SHA256SUMS over the release folder, signed with a THROWAWAY GPG key made now in a
#      temporary GNUPGHOME; verified with installers/verify-release.sh; the public key is
#      written beside the folder as dist/release-test-key.asc
# The throwaway keys live in a temporary folder removed at the end. Real releases are signed
# by .github/workflows/release.yml with the organisation's keys.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export PY
VERSION=$("$PY" -c 'import fieldkit; print(fieldkit.__version__)')
OUT=dist/release
SECRETS=$(mktemp -d -t fieldkit-package-XXXXXX)
trap 'rm -rf "$SECRETS"' EXIT
chmod 700 "$SECRETS"
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
started=$(date +%s)

step "frozen app"
t=$(date +%s); installers/build-frozen.sh; frozen_s=$(( $(date +%s) - t ))

rm -rf "$OUT"; mkdir -p "$OUT"
step ".deb"
t=$(date +%s); installers/linux/build-deb.sh dist/fieldkit "$VERSION" "$OUT"; deb_s=$(( $(date +%s) - t ))
step "lintian"
lintian --tag-display-limit 0 --fail-on error,warning "$OUT"/fieldkit_*.deb

step "test-signed MSI"
installers/make-test-ca.sh "$SECRETS/ca"
export FIELDKIT_SIGN_KEY="$SECRETS/ca/codesign.key" FIELDKIT_SIGN_CERT="$SECRETS/ca/codesign.pem" \
  FIELDKIT_SIGN_CAFILE="$SECRETS/ca/ca.pem"
payload="$SECRETS/payload"
mkdir -p "$payload/_internal/resources"
cp "$("$PY" -c 'import setuptools, pathlib; print(pathlib.Path(setuptools.__file__).parent / "cli-64.exe")')" "$payload/fieldkit.exe"
cp -r resources/styles resources/icons "$payload/_internal/resources/"
installers/windows/sign.sh "$payload/fieldkit.exe"
installers/windows/build-msi.sh "$payload" "$VERSION" "$OUT/fieldkit-$VERSION-x64-TEST.msi"
installers/windows/sign.sh "$OUT/fieldkit-$VERSION-x64-TEST.msi"
cp "$SECRETS/ca/ca.pem" dist/release-test-ca.pem

step "checksums and signature"
export GNUPGHOME="$SECRETS/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key \
  'fieldkit TEST release (throwaway) <test@fieldkit.invalid>' ed25519 sign 1d
FIELDKIT_GPG_KEY=$(gpg --batch --list-keys --with-colons | awk -F: '$1=="fpr"{print $10; exit}')
export FIELDKIT_GPG_KEY
installers/sign-release.sh "$OUT"
gpg --batch --armor --export "$FIELDKIT_GPG_KEY" > dist/release-test-key.asc
unset GNUPGHOME

step "verify"
installers/verify-release.sh --key dist/release-test-key.asc "$OUT"
installers/windows/sign.sh --verify "$OUT/fieldkit-$VERSION-x64-TEST.msi"

echo
echo "package: $OUT (frozen app ${frozen_s}s, .deb ${deb_s}s, total $(( $(date +%s) - started ))s)"
ls -l "$OUT"
