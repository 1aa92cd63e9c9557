# The two commands a newcomer needs: `make demo` and `make test`.
# Both run `make setup` first, which alone prepares everything.

VENV := .venv
PY := $(VENV)/bin/python
N ?= 50000

.PHONY: setup demo test test-fast lint schemas bench-ingest bench-devices bench-kiosk bench-fleet lock clean

setup:
	@bash scripts/setup.sh

demo: setup
	@$(PY) scripts/demo.py

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Re-export the JSON Schemas of the MQTT contract (a test checks they are current).
schemas: setup
	$(VENV)/bin/mqtt-contract export-schemas mqtt/schemas

bench-ingest: setup
	@$(PY) scripts/bench_ingest.py --events $(N)

bench-devices: setup
	@$(PY) scripts/bench_devices.py

# Time to first byte of the ops centre's fleet page with 10,000 kiosks (fleet-backend serve).
bench-fleet: setup
	@$(PY) scripts/bench_fleet_page.py

# Kiosk app under Xvfb with the simulators: cold start to the attract screen, card to home.
bench-kiosk: setup
	@$(PY) scripts/bench_kiosk.py

# Re-pin requirements.lock from pyproject.toml's ranges (needs the registry).
lock:
	rm -rf var/lock-venv && python3 -m venv var/lock-venv
	var/lock-venv/bin/pip install -q -e '.[dev]'
	var/lock-venv/bin/pip install -q --no-deps -r requirements-nodeps.lock
	(echo "# Exact versions, installed by scripts/setup.sh. Re-pin with 'make lock'."; echo "# face_recognition is pinned in requirements-nodeps.lock (installed with --no-deps: it declares plain dlib, which compiles for many minutes; dlib-bin here provides dlib). rapidocr-onnxruntime likewise (it declares opencv-python, which clashes with opencv-python-headless)."; var/lock-venv/bin/pip freeze --exclude-editable | grep -iv "^govkiosk\|^face-recognition==\|^rapidocr-onnxruntime=="; echo "setuptools==80.9.0") > requirements.lock
	rm -rf var/lock-venv

clean:
	rm -rf $(VENV) var
