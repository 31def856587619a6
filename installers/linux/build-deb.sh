#!/usr/bin/env bash
# Build the Debian package of the frozen laptop app with dpkg-deb (no debhelper).
#
#   installers/linux/build-deb.sh FROZEN_DIR VERSION OUT_DIR
#
# FROZEN_DIR is dist/fieldkit from installers/build-frozen.sh. Writes
# OUT_DIR/fieldkit_VERSION_ARCH.deb containing:
#   /opt/fieldkit/                      the frozen app (one folder)
#   /usr/bin/fieldkit                   symlink to /opt/fieldkit/fieldkit
#   /usr/share/applications/fieldkit.desktop, icons (hicolor scalable and 256x256), man page
#   /etc/fieldkit/fieldkit.toml         install defaults, a conffile (kept on upgrade)
#   /etc/fieldkit/policies/{managed,recommended}/   policy folders (*.json, see docs)
#   /usr/share/fieldkit/settings-v1.schema.json      JSON Schema of the policy files
#   /usr/share/doc/fieldkit/{copyright,changelog.Debian.gz}, lintian overrides
# Reproducible: file times are clamped to SOURCE_DATE_EPOCH (default: the last commit), owners
# are root, permissions normalised. DEB_COMPRESS (xz, gzip; default xz) and
# DEB_COMPRESS_LEVEL (default 1) pick the compression: xz -1 makes a package as small as the
# default -6 does for this bundle (already compressed Python archive, stripped libraries) in a
# fraction of the time. (zstd would be faster still, but lintian and dpkg before 1.21.18
# refuse it.)
set -euo pipefail

die() { echo "build-deb: $*" >&2; exit 2; }
[ $# -eq 3 ] || die "usage: build-deb.sh FROZEN_DIR VERSION OUT_DIR"
FROZEN=$1 VERSION=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (Debian package dpkg)."
[ -x "$FROZEN/fieldkit" ] || die "$FROZEN/fieldkit is missing: build the frozen app first (installers/build-frozen.sh)."
[[ "$VERSION" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "bad version '$VERSION'"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 315532800)
fi
export SOURCE_DATE_EPOCH
ARCH=$(dpkg --print-architecture)
mkdir -p "$OUT"
DEB="$OUT/fieldkit_${VERSION}_${ARCH}.deb"

STAGE=$(mktemp -d -t fieldkit-deb-XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
PKG="$STAGE/root"
install -d -m 0755 "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/share/applications" \
  "$PKG/usr/share/icons/hicolor/scalable/apps" "$PKG/usr/share/icons/hicolor/256x256/apps" \
  "$PKG/usr/share/man/man1" "$PKG/usr/share/doc/fieldkit" "$PKG/usr/share/lintian/overrides" \
  "$PKG/usr/share/fieldkit" "$PKG/etc/fieldkit/policies/managed" \
  "$PKG/etc/fieldkit/policies/recommended"

cp -a "$FROZEN" "$PKG/opt/fieldkit"
ln -s /opt/fieldkit/fieldkit "$PKG/usr/bin/fieldkit"
install -m 0644 "$HERE/fieldkit.desktop" "$PKG/usr/share/applications/fieldkit.desktop"
install -m 0644 "$ROOT/resources/icons/fieldkit.svg" "$PKG/usr/share/icons/hicolor/scalable/apps/fieldkit.svg"
install -m 0644 "$ROOT/resources/icons/fieldkit.png" "$PKG/usr/share/icons/hicolor/256x256/apps/fieldkit.png"
gzip -9n < "$HERE/fieldkit.1" > "$PKG/usr/share/man/man1/fieldkit.1.gz"
install -m 0644 "$HERE/fieldkit.toml" "$PKG/etc/fieldkit/fieldkit.toml"
install -m 0644 "$ROOT/installers/policy/linux/settings-v1.schema.json" "$PKG/usr/share/fieldkit/settings-v1.schema.json"
install -m 0644 "$HERE/copyright" "$PKG/usr/share/doc/fieldkit/copyright"
install -m 0644 "$HERE/lintian-overrides" "$PKG/usr/share/lintian/overrides/fieldkit"
CHANGE_DATE=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
printf 'fieldkit (%s) unstable; urgency=medium\n\n  * Release %s (see the project history for changes).\n\n -- fieldkit developers <devel@fieldkit.se>  %s\n' \
  "$VERSION" "$VERSION" "$CHANGE_DATE" | gzip -9n > "$PKG/usr/share/doc/fieldkit/changelog.gz"

# Normalise: root-owned (dpkg-deb --root-owner-group), no group/other write, no setuid, and
# executables only where they were.
chmod -R u+rwX,go+rX,go-w "$PKG"
find "$PKG" -type f -perm /u+x -exec chmod 0755 {} +
find "$PKG" -type f ! -perm /u+x -exec chmod 0644 {} +
# Shared objects are not executables (Debian ships them 0644).
find "$PKG/opt/fieldkit" -type f -name '*.so*' -exec chmod 0644 {} +

# Shared objects: strip what the running program does not need (as dh_strip does), and drop
# RUNPATH entries that point at the build machine (a pyenv Python's lib folder, say); the
# bundle's own $ORIGIN-relative entries stay. The executable itself is left whole: PyInstaller
# appends its archive to it.
command -v patchelf >/dev/null || die "patchelf is missing (Debian package patchelf; make system-deps)."
while IFS= read -r -d '' lib; do
  [ "$(head -c 4 "$lib" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  strip --strip-unneeded "$lib"
  rpath=$(patchelf --print-rpath "$lib")
  if [ -n "$rpath" ]; then
    kept=$(tr ':' '\n' <<<"$rpath" | grep '^\$ORIGIN' | paste -sd: || true)
    if [ "$kept" != "$rpath" ]; then
      if [ -n "$kept" ]; then patchelf --set-rpath "$kept" "$lib"; else patchelf --remove-rpath "$lib"; fi
    fi
  fi
done < <(find "$PKG/opt/fieldkit/_internal" -type f -name '*.so*' -print0)

# System libraries the bundle links but does not carry (the rest is inside /opt/fieldkit).
DEPENDS="libc6 (>= 2.31), libgcc-s1, libstdc++6, zlib1g, libexpat1, libbz2-1.0, liblzma5, libdbus-1-3, libfontconfig1, libfreetype6, libxkbcommon0, libxkbcommon-x11-0, libegl1, libgl1, libglx0, libglvnd0, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-shape0, libxcb-randr0, libxcb-xkb1"
INSTALLED_SIZE=$(du -sk --apparent-size "$PKG" | cut -f1)
cat > "$PKG/DEBIAN/control" <<EOF
Package: fieldkit
Version: $VERSION
Architecture: $ARCH
Maintainer: fieldkit developers <devel@fieldkit.se>
Installed-Size: $INSTALLED_SIZE
Depends: $DEPENDS
Recommends: gnome-keyring | kwalletmanager | keepassxc
Section: misc
Priority: optional
Homepage: https://fieldkit.se
Description: encrypted, offline-first case notes for field social work
 fieldkit keeps case notes and structured assessments of municipal field social
 workers in an encrypted profile (SQLCipher, key in the system keyring) on the
 laptop, works without a network and synchronises with the municipality's
 fieldkit server when online.
 .
 IT presets it with /etc/fieldkit/fieldkit.toml (install defaults) and JSON
 policy files in /etc/fieldkit/policies/managed and .../recommended.
EOF
printf '/etc/fieldkit/fieldkit.toml\n' > "$PKG/DEBIAN/conffiles"
(cd "$PKG" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
  | xargs -0 md5sum) > "$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/conffiles" "$PKG/DEBIAN/md5sums"

find "$PKG" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-xz}" -z"${DEB_COMPRESS_LEVEL:-1}" --build "$PKG" "$DEB" >/dev/null
echo "build-deb: $DEB"
