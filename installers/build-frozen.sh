#!/usr/bin/env bash
# Build the frozen laptop app (one folder) from installers/fieldkit.spec:
#   installers/build-frozen.sh            -> dist/fieldkit/fieldkit
# Reproducibility: SOURCE_DATE_EPOCH is the last commit's time (file times in the bundle and
# in the packages built from it), PYTHONHASHSEED=0 (stable set/dict order while freezing), and
# the freezer itself is pinned (installers/requirements-build.txt).
# Environment: PY (python with fieldkit and the build requirements; default .venv/bin/python),
# DIST (default dist), WORK (default build/pyinstaller).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DIST=${DIST:-dist}
WORK=${WORK:-build/pyinstaller}

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 315532800)
fi
export SOURCE_DATE_EPOCH
export PYTHONHASHSEED=0
export PYTHONDONTWRITEBYTECODE=1

"$PY" -c 'import PyInstaller' 2>/dev/null || {
  echo "build-frozen: PyInstaller is not installed; run: $PY -m pip install -r installers/requirements-build.txt" >&2
  exit 2
}
"$PY" -m fieldkit.i18n compile
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" installers/fieldkit.spec
echo "build-frozen: $DIST/fieldkit"
