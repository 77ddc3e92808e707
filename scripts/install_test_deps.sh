#!/usr/bin/env bash
# Installs everything the test suite needs: the Python requirements, numba's compiled
# kernels (nmfcore.warmup) and, for the end-to-end browser test, Debian's chromium and
# chromium-driver.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
# compile numba's kernels once, here, rather than in the first test (and app server) that needs them
python -m nmfcore.warmup --quiet
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "chromium/chromedriver missing: install Debian's chromium and chromium-driver for the browser test" >&2
  fi
fi
