"""What every part of the campaign shares: where the server is, how to sign
in, how to count an org's events through the API, and where results go.

attack.sh starts the server and sets the ATTACK_* variables; each part
writes one JSON file of figures into ATTACK_RESULTS, and report.py turns
them into docs/reliability.md.
"""

import json
import os
import pathlib
import statistics
import time
import urllib.parse

import requests

BASE = os.environ.get("ATTACK_BASE", "http://127.0.0.1:3000")
MODE = os.environ.get("ATTACK_MODE", "quick")
QUICK = MODE == "quick"
KEY_A = os.environ.get("ATTACK_KEY_A", "")  # org A (acme): the big one
KEY_B = os.environ.get("ATTACK_KEY_B", "")  # org B (globex)
DATA_DIR = pathlib.Path(os.environ.get("ATTACK_DATA_DIR", ".data"))
RESULTS = pathlib.Path(os.environ.get("ATTACK_RESULTS", "."))
SERVER_LOG = pathlib.Path(os.environ.get("ATTACK_SERVER_LOG", "/dev/null"))
ORG_A = "acme"
ORG_B = "globex"


def write_result(part, result):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{part}.json").write_text(json.dumps(result, indent=2, default=str))


def api_headers(key, **extra):
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **extra}


def demo_accounts():
    res = requests.post(f"{BASE}/api/ui/demo-accounts", timeout=30)
    res.raise_for_status()
    return res.json()


def account(role, org_name="Acme Corp"):
    for a in demo_accounts():
        if a["role"] == role and a["org"] == org_name:
            return a
    raise RuntimeError(f"no {role} demo account in {org_name}")


def sign_in(email, password="demo", session=None):
    """Signs in through the real login form (as end2end/tests/support.mjs
    does); returns the session cookie's value and the seconds it took."""
    http = session or requests
    started = time.perf_counter()
    res = http.post(
        f"{BASE}/auth/login",
        data={"email": email, "password": password, "next": ""},
        allow_redirects=False,
        timeout=60,
    )
    took = time.perf_counter() - started
    cookie = res.cookies.get("atl_session")
    if not cookie:
        raise RuntimeError(f"sign-in as {email} failed: {res.status_code} {res.headers.get('location')}")
    return cookie, took


def count_events(key, **filters):
    """How many of the key's org's events match `filters`, by streaming an
    NDJSON export (the public API has no count: an export is what a client
    would use to check what was stored). Retries while the store is coming
    back or another export of this key is still running."""
    deadline = time.monotonic() + 60
    while True:
        try:
            res = requests.get(
                f"{BASE}/api/v1/events/export",
                params={"format": "ndjson", **filters},
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            )
            if res.status_code == 200:
                return sum(1 for line in res.text.splitlines() if line.strip())
            status = res.status_code
        except requests.RequestException as err:
            status = repr(err)
        if time.monotonic() > deadline:
            raise RuntimeError(f"export kept failing: {status}")
        time.sleep(0.5)


def verify_chain(key):
    """POST /api/v1/verify for the key's org, retried past a 429 (another
    verification running) or a store that is restarting."""
    deadline = time.monotonic() + 120
    while True:
        try:
            res = requests.post(f"{BASE}/api/v1/verify", headers=api_headers(key), timeout=300)
            if res.status_code == 200:
                return res.json()
            status = f"{res.status_code} {res.text[:200]}"
        except requests.RequestException as err:
            status = repr(err)
        if time.monotonic() > deadline:
            raise RuntimeError(f"verify kept failing: {status}")
        time.sleep(1)


def log_size():
    """Where the server log ends now: a part counts only the panics logged
    after it started."""
    return SERVER_LOG.stat().st_size if SERVER_LOG.exists() else 0


def server_log_panics(since=0):
    try:
        with open(SERVER_LOG, "rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if "panicked" in line]


def percentiles(samples):
    """p50 and p95 of `samples` (seconds) in milliseconds."""
    if not samples:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    ordered = sorted(samples)

    def at(q):
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    return {
        "n": len(ordered),
        "p50_ms": round(at(0.50), 1),
        "p95_ms": round(at(0.95), 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def event(i, action, **extra):
    """One valid event for the ingestion API."""
    return {
        "occurred_at": "2026-01-15T09:00:00Z",
        "actor": {"kind": "system", "id": "attack", "name": "Reliability campaign"},
        "action": action,
        "entity": {"type": "drill", "id": f"d_{i}", "name": f"Drill record {i}"},
        **extra,
    }


def qs(args):
    """serde_qs's encoding: nested maps and lists in brackets."""
    pairs = []

    def walk(prefix, value):
        if value is None:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}[{k}]", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        else:
            pairs.append((prefix, str(value)))

    for name, value in args.items():
        walk(name, value)
    return urllib.parse.urlencode(pairs)
