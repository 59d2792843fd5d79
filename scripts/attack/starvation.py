"""The starvation drill: one org's worst-case reads must not starve another
org's ingestion, nor sign-in.

Org A (acme, the big demo org) is attacked by 50 concurrent clients, spread
over all of its demo accounts and a few API keys, each repeating the most
expensive reads there are: two-character searches that match nothing (too
short for the trigram index, so PostgreSQL walks the org's whole time
index), match counts of the same, full exports, actor searches. A 429 is
the right answer for requests over the org's or the viewer's share
(app/src/api/admission.rs); attackers then pause briefly and go again,
as a script hammering the API would.

Meanwhile org B (globex) sends single events at a steady pace and its
people sign in; their latencies before and during the attack are the
figures. Every one of org B's requests must succeed, each within 5 s.
"""

import collections
import itertools
import os
import random
import sys
import threading
import time

import requests

from common import (
    BASE, KEY_B, ORG_A, QUICK, api_headers, demo_accounts, event, percentiles, qs, log_size, server_log_panics,
    sign_in, write_result,
)

ATTACKERS = 50
PHASE_S = 15 if QUICK else 60
INGEST_EVERY_S = 0.05  # 20 events a second from org B
SIGN_IN_EVERY_S = 1.0
# Org B counts as starved if any of its requests fails or takes this long
# (a typical client timeout): slower is a figure, not a failure.
STARVED_S = 5.0
# Two characters that appear in no demo action, name or record: every
# search must look at every row of the org before it can say "none".
NOTHING = ["zq", "qx", "jz", "xq", "vq", "qz", "wx", "zx"]


def paced(stop, every, action):
    """Runs `action` every `every` seconds until `stop`; a slot missed while
    the previous one ran late is skipped, not made up in a burst."""
    due = time.perf_counter()
    while not stop.is_set():
        action()
        due = max(due + every, time.perf_counter())
        time.sleep(max(0.0, due - time.perf_counter()))


def measure_b(stop, ingest, sign_ins, errors, b_emails):
    """Org B's side, on two threads so neither waits for the other: single
    events at a steady pace, and a sign-in a second, each timed from
    request to answer."""
    http = requests.Session()
    emails = itertools.cycle(b_emails)
    n = itertools.count()

    def one_event():
        started = time.perf_counter()
        try:
            res = http.post(f"{BASE}/api/v1/events", json=event(next(n), "drill.starve_probe"),
                            headers=api_headers(KEY_B), timeout=30)
            took = time.perf_counter() - started
            if res.status_code == 201:
                ingest.append(took)
            else:
                errors.append(f"ingest: {res.status_code} {res.text[:120]}")
            if took > STARVED_S:
                errors.append(f"ingest took {took:.1f} s")
        except requests.RequestException as err:
            errors.append(f"ingest: {err}")

    def one_sign_in():
        try:
            _, took = sign_in(next(emails))
            sign_ins.append(took)
            if took > STARVED_S:
                errors.append(f"sign-in took {took:.1f} s")
        except Exception as err:  # noqa: BLE001 - any failure is a figure here
            errors.append(f"sign-in: {err}")

    threads = [threading.Thread(target=paced, args=(stop, INGEST_EVERY_S, one_event)),
               threading.Thread(target=paced, args=(stop, SIGN_IN_EVERY_S, one_sign_in))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def phase(name, attack=None):
    stop = threading.Event()
    ingest, sign_ins, errors = [], [], []
    b_emails = [a["email"] for a in demo_accounts() if a["org"] == "Globex Studio"]
    probe = threading.Thread(target=measure_b, args=(stop, ingest, sign_ins, errors, b_emails))
    if attack:
        attack.start()
        time.sleep(3)  # let the attack fill every share first
    probe.start()
    time.sleep(PHASE_S)
    stop.set()
    probe.join()
    if attack:
        attack.stop()
    return {
        "phase": name,
        "ingest": percentiles(ingest),
        "sign_in": percentiles(sign_ins),
        "errors": errors[:20],
        "error_count": len(errors),
    }


class Attack:
    """50 clients of org A, each looping one worst-case read."""

    def __init__(self, sessions, keys):
        self.sessions = sessions
        self.keys = keys
        self.stop_flag = threading.Event()
        self.answers = collections.Counter()
        self.by_kind = collections.defaultdict(collections.Counter)
        self.server_errors = []
        self.lock = threading.Lock()
        self.threads = []

    def request(self, kind, n):
        term = NOTHING[n % len(NOTHING)]
        cookie = {"atl_session": self.sessions[n % len(self.sessions)]}
        filt = {"q": term}
        if kind == "search":
            return requests.post(f"{BASE}/api/ui/timeline", cookies=cookie, timeout=120,
                                 data=qs({"org": ORG_A, "filter": filt, "scope": {"q": ""}, "page_size": "200"}),
                                 headers={"content-type": "application/x-www-form-urlencoded"})
        if kind == "count":
            return requests.post(f"{BASE}/api/ui/count", cookies=cookie, timeout=120,
                                 data=qs({"org": ORG_A, "filter": filt, "scope": {"q": ""}}),
                                 headers={"content-type": "application/x-www-form-urlencoded"})
        if kind == "actors":
            return requests.post(f"{BASE}/api/ui/actors", cookies=cookie, timeout=120,
                                 data=qs({"org": ORG_A, "search": term[0]}),
                                 headers={"content-type": "application/x-www-form-urlencoded"})
        if kind == "export (API)":
            # The whole org, streamed and read to the end.
            key = self.keys[n % len(self.keys)]
            with requests.get(f"{BASE}/api/v1/events/export", params={"format": "csv"}, stream=True,
                              headers={"Authorization": f"Bearer {key}"}, timeout=300) as res:
                for _ in res.iter_content(65536):
                    if self.stop_flag.is_set():
                        break
                return res
        if kind == "export (page)":
            with requests.get(f"{BASE}/o/{ORG_A}/export.ndjson", params={"q": term}, cookies=cookie, stream=True,
                              timeout=300) as res:
                for _ in res.iter_content(65536):
                    if self.stop_flag.is_set():
                        break
                return res
        raise ValueError(kind)

    def client(self, n):
        kinds = ["search", "search", "count", "search", "actors", "export (API)", "export (page)", "count"]
        kind = kinds[n % len(kinds)]
        while not self.stop_flag.is_set():
            try:
                res = self.request(kind, n)
                status = res.status_code
            except requests.RequestException as err:
                status = type(err).__name__
                res = None
            with self.lock:
                self.answers[status] += 1
                self.by_kind[kind][status] += 1
                if isinstance(status, int) and status >= 500 and status != 503:
                    self.server_errors.append(f"{kind}: {status} {res.text[:200] if res is not None else ''}")
            if status == 429:
                time.sleep(0.1 + random.random() * 0.1)

    def start(self):
        self.threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(ATTACKERS)]
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=310)


def main():
    log_at = log_size()
    started = time.perf_counter()
    # Every demo account of org A that may read its log (members without
    # the permission would only be answered 403, which costs nothing).
    sessions = []
    for a in demo_accounts():
        if a["org"] != "Acme Corp":
            continue
        cookie, _ = sign_in(a["email"])
        res = requests.post(f"{BASE}/api/ui/entity-types", data=qs({"org": ORG_A}), cookies={"atl_session": cookie},
                            headers={"content-type": "application/x-www-form-urlencoded"}, timeout=30)
        if res.status_code == 200:
            sessions.append(cookie)
    keys = [k for k in os.environ.get("ATTACK_KEYS_A", "").split(",") if k]
    before = phase("before")
    attack = Attack(sessions, keys)
    during = phase("during", attack)
    after = phase("after") if not QUICK else None

    def ratio(metric, q):
        b, d = before[metric][q], during[metric][q]
        return round(d / b, 2) if b and d else None

    panics = server_log_panics(log_at)
    result = {
        "attackers": ATTACKERS,
        "phase_s": PHASE_S,
        "accounts_a": len(sessions),
        "keys_a": len(keys),
        "phases": [p for p in (before, during, after) if p],
        "ratios": {f"{m} {q}": ratio(m, q) for m in ("ingest", "sign_in") for q in ("p50_ms", "p95_ms")},
        "attack_answers": {str(k): v for k, v in attack.answers.items()},
        "attack_by_kind": {k: {str(s): n for s, n in c.items()} for k, c in attack.by_kind.items()},
        "attack_server_errors": attack.server_errors[:20],
        "panics": panics,
        "seconds": round(time.perf_counter() - started, 1),
    }
    problems = []
    for p in result["phases"]:
        if p["error_count"]:
            problems.append(f"org B had {p['error_count']} failed requests {p['phase']} the attack: {p['errors'][:3]}")
    if attack.server_errors:
        problems.append(f"attack answered with 5xx: {attack.server_errors[:3]}")
    if panics:
        problems.append("panics")
    result["problems"] = problems
    write_result("starvation", result)
    print(f"starvation: before {before['ingest']} / during {during['ingest']}; sign-in {before['sign_in']} / "
          f"{during['sign_in']}; attack {dict(attack.answers)}", file=sys.stderr)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
