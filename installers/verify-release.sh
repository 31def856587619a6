#!/usr/bin/env bash
# Verify a downloaded fieldkit release: the GPG signature over SHA256SUMS, then the SHA-256 of
# every file. Fails (exit 1) on any change: a changed, missing or extra file, an edited
# SHA256SUMS, a damaged signature, or a signature by any other key.
#
#   installers/verify-release.sh --key fieldkit-release.asc DIR            every file in DIR
#   installers/verify-release.sh --key fieldkit-release.asc DIR FILE...    only these files
#
# --key is the release signing key (public, armoured or binary) obtained from a channel you
# trust (docs/deployment.md); only a signature by that key is accepted (gpgv with a keyring
# of that key alone, so nothing in your own keyring is trusted by accident).
# Needs gpgv (or gpg) and sha256sum.
set -euo pipefail
die() { echo "verify-release: $*" >&2; exit 2; }
fail() { echo "verify-release: FAILED: $*" >&2; exit 1; }

KEY=""
while [ $# -gt 0 ]; do
  case $1 in
    --key) [ $# -ge 2 ] || die "--key needs a file"; KEY=$2; shift 2 ;;
    --key=*) KEY=${1#--key=}; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "usage: verify-release.sh --key KEYFILE DIR [FILE...]"
[ -n "$KEY" ] || die "--key KEYFILE is required (the release signing key)"
[ -r "$KEY" ] || die "cannot read the key $KEY"
DIR=$1; shift
[ -d "$DIR" ] || die "$DIR is not a folder"
command -v gpg >/dev/null || die "gpg is missing (Debian package gnupg)."
command -v sha256sum >/dev/null || die "sha256sum is missing (coreutils)."
[ -f "$DIR/SHA256SUMS" ] || fail "$DIR/SHA256SUMS is missing"
[ -f "$DIR/SHA256SUMS.asc" ] || fail "$DIR/SHA256SUMS.asc (the signature) is missing"

WORK=$(mktemp -d -t fieldkit-verify-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 700 "$WORK"
# A keyring with the release key alone.
if grep -q -- "-----BEGIN PGP PUBLIC KEY BLOCK-----" "$KEY" 2>/dev/null; then
  gpg --batch --quiet --homedir "$WORK" --dearmor --output "$WORK/release.gpg" "$KEY" || die "$KEY is not a valid key"
else
  cp "$KEY" "$WORK/release.gpg"
fi
if command -v gpgv >/dev/null; then
  gpgv --keyring "$WORK/release.gpg" "$DIR/SHA256SUMS.asc" "$DIR/SHA256SUMS" 2> "$WORK/gpg.log" \
    || { cat "$WORK/gpg.log" >&2; fail "the signature of SHA256SUMS is not valid for this key"; }
else
  gpg --batch --homedir "$WORK" --no-default-keyring --keyring "$WORK/release.gpg" --trust-model always \
    --verify "$DIR/SHA256SUMS.asc" "$DIR/SHA256SUMS" 2> "$WORK/gpg.log" \
    || { cat "$WORK/gpg.log" >&2; fail "the signature of SHA256SUMS is not valid for this key"; }
fi
echo "verify-release: signature of SHA256SUMS: good ($(grep -o 'using .*' "$WORK/gpg.log" | head -1))"

# Every line must be "<64 hex>  <plain file name>": nothing outside the folder.
if grep -vqE '^[0-9a-f]{64}  [^/]+$' "$DIR/SHA256SUMS"; then
  fail "SHA256SUMS has a malformed line or a path outside the folder"
fi
cd "$DIR"
listed=$(cut -c67- SHA256SUMS)
if [ $# -gt 0 ]; then
  for file in "$@"; do
    name=$(basename "$file")
    line=$(awk -v n="$name" 'substr($0, 67) == n' SHA256SUMS)
    [ -n "$line" ] || fail "$name is not listed in SHA256SUMS"
    sha256sum --quiet --strict -c <<<"$line" || fail "$name does not match SHA256SUMS"
    echo "verify-release: $name: OK"
  done
  exit 0
fi
sha256sum --quiet --strict -c SHA256SUMS || fail "a file does not match SHA256SUMS (or is missing)"
key_name=$(basename "$KEY")
while IFS= read -r -d '' present; do
  case $present in SHA256SUMS|SHA256SUMS.asc|"$key_name") continue ;; esac
  grep -qxF -- "$present" <<<"$listed" || fail "$present is not covered by SHA256SUMS"
done < <(find . -maxdepth 1 -type f -printf '%P\0')
echo "verify-release: $(wc -l < SHA256SUMS) files: OK"
