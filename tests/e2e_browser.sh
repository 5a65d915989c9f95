#!/bin/bash
# e2e_browser.sh — the search page in headless Chromium against the real
# `clipsearch serve` (tests/browser_serve.py does the work).  Picks a Python
# that has selenium: Debian's python3-selenium lives in /usr/bin/python3's
# packages, which another python3 first on PATH (pyenv, a venv) cannot see.
# Skips (77) without chromium, chromedriver, selenium or the fixtures.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import selenium' 2>/dev/null; then
        exec "$py" "$HERE/browser_serve.py" "$@"
    fi
done
echo "SKIP: no python3 with selenium (Debian package python3-selenium)"
exit 77
