#!/usr/bin/env bash
# Prepare everything the project needs on a Debian machine, idempotently:
# Debian packages (only those missing), then the virtual environment at .venv
# with the exact versions of requirements.lock. The second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    mosquitto              # the MQTT broker (demo, tests, benchmarks)
    python3-venv
    libusb-1.0-0           # USB receipt printers (pyusb)
    pcscd                  # PC/SC daemon for the card reader
    vsmartcard-vpcd        # virtual reader driver: tests and the card simulator
    swig libpcsclite-dev   # to build pyscard
    postgresql             # the backend's database at scale; tests run the SQL on it too
    xvfb xauth             # a virtual screen for the Kivy kiosk app's tests and benchmark
    libgl1 libegl1 libmtdev1  # what Kivy's SDL2 window needs from the system
    fonts-wqy-microhei fonts-noto-cjk  # Chinese glyphs: Kivy's default font has none
    chromium               # headless browser tests of the ops console and the mini-app
)
# npm installs the web assets (ECharts, Vue, Vant) from the registry; Debian's
# nodejs and npm only when the machine has no npm of its own.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python 3.11, as pyproject.toml requires.
PYTHON=""
for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        PYTHON="$candidate"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    echo "setup: Python 3.11 is required (Debian 12 ships it as python3)" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi

stamp=$(cat requirements.lock requirements-nodeps.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.installed 2>/dev/null || true)" != "$stamp" ]; then
    echo "setup: installing the locked Python packages into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.lock
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
    echo "$stamp" > .venv/.installed
fi
# Front-end assets the backend serves itself: the network is closed at run time.
web_stamp=$(sha256sum backend/web/package-lock.json | cut -d' ' -f1)
if [ "$(cat backend/web/node_modules/.installed 2>/dev/null || true)" != "$web_stamp" ]; then
    echo "setup: installing the locked web assets into backend/web/node_modules"
    npm ci --prefix backend/web --no-audit --no-fund --loglevel=error
    echo "$web_stamp" > backend/web/node_modules/.installed
fi
mkdir -p var
echo "setup: ready (.venv, mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}'))"
