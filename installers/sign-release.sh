#!/usr/bin/env bash
# Write SHA256SUMS over every file of a release folder and a detached, ASCII-armoured GPG
# signature of it (SHA256SUMS.asc).
#
#   installers/sign-release.sh DIR
#
# FIELDKIT_GPG_KEY    the signing key (fingerprint or user id) in the keyring (required)
# GNUPGHOME           the keyring's folder (default: gpg's own)
# FIELDKIT_GPG_PASSPHRASE_FILE   a file holding the key's passphrase, for unattended use
# The public key to publish with the release: gpg --armor --export "$FIELDKIT_GPG_KEY".
# Check the result with installers/verify-release.sh.
set -euo pipefail
die() { echo "sign-release: $*" >&2; exit 2; }
[ $# -eq 1 ] || die "usage: sign-release.sh DIR"
DIR=$1
[ -d "$DIR" ] || die "$DIR is not a folder"
[ -n "${FIELDKIT_GPG_KEY:-}" ] || die "FIELDKIT_GPG_KEY (the signing key) is not set."
command -v gpg >/dev/null || die "gpg is missing (Debian package gnupg)."
cd "$DIR"
rm -f SHA256SUMS SHA256SUMS.asc
mapfile -d '' files < <(find . -maxdepth 1 -type f ! -name 'SHA256SUMS*' -printf '%P\0' | LC_ALL=C sort -z)
[ ${#files[@]} -gt 0 ] || die "$DIR has no files to sign"
sha256sum -- "${files[@]}" > SHA256SUMS
args=(--batch --yes --armor --local-user "$FIELDKIT_GPG_KEY" --detach-sign --output SHA256SUMS.asc)
if [ -n "${FIELDKIT_GPG_PASSPHRASE_FILE:-}" ]; then
  args+=(--pinentry-mode loopback --passphrase-file "$FIELDKIT_GPG_PASSPHRASE_FILE")
fi
gpg "${args[@]}" SHA256SUMS
echo "sign-release: $DIR/SHA256SUMS and SHA256SUMS.asc (${#files[@]} files)"
