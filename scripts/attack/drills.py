"""Fault drills: the database killed under a 1,000-event batch, clients that
go away mid-request, retries racing each other. Each drill passes or fails
on what a client can observe through the API: what it was told, and what
the log holds afterwards (counted by exporting the drill's own action).

The drills write to org B (globex), so org A's dataset stays as loaded for
the starvation drill; the chains of both orgs are verified at the end.
"""

import json
import os
import random
import signal
import socket
import string
import sys
import threading
import time
import urllib.parse

import requests

from common import (
    BASE, DATA_DIR, KEY_A, KEY_B, QUICK, api_headers, count_events, event, log_size, server_log_panics,
    verify_chain, write_result,
)

RUN = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
BATCH = 1000
EVENTS_URL = f"{BASE}/api/v1/events"


def batch(action, external_ids=False):
    """A full batch: 1,000 events of ~1.5 KiB each, so the insert and commit
    take long enough for a kill to land inside them."""
    events = []
    for i in range(BATCH):
        extra = {
            "changes": {"diff": {"status": {"old": "draft", "new": "sent"}, "note": {"new": "x" * 600}}},
            "metadata": {"drill": RUN, "index": i, "padding": "y" * 600},
        }
        if external_ids:
            extra["external_id"] = f"{action}-{i}"
        events.append(event(i, action, **extra))
    return json.dumps({"events": events}).encode()


def post(body, key=None, timeout=120):
    """One POST; returns (status or None, parsed body or error text, seconds)."""
    headers = api_headers(KEY_B)
    if key:
        headers["Idempotency-Key"] = key
    started = time.perf_counter()
    try:
        res = requests.post(EVENTS_URL, data=body, headers=headers, timeout=timeout)
        try:
            payload = res.json()
        except ValueError:
            payload = res.text[:300]
        return res.status_code, payload, time.perf_counter() - started, dict(res.headers)
    except requests.RequestException as err:
        return None, f"{type(err).__name__}: {err}"[:300], time.perf_counter() - started, {}


def code_of(payload):
    if isinstance(payload, dict):
        return (payload.get("error") or {}).get("code")
    return None


def postmaster_pid():
    lines = (DATA_DIR / "pgdata" / "postmaster.pid").read_text().splitlines()
    return int(lines[0])


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        # The command may hold spaces and parentheses; ppid follows the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def wait_until_stored(body, key, deadline_s=120):
    """The client's side of recovery: retry the same request (same key, if
    any) until it is answered 201, or 409 for external ids stored already.
    Returns every answer and the seconds until the last."""
    started = time.perf_counter()
    answers = []
    while time.perf_counter() - started < deadline_s:
        status, payload, took, headers = post(body, key)
        answers.append({"status": status, "code": code_of(payload), "replayed": headers.get("idempotent-replayed")})
        if status in (201, 409):
            break
        time.sleep(0.25)
    return answers, time.perf_counter() - started


def baseline_seconds():
    """How long a full batch takes when nothing goes wrong (stored under its
    own action, so it is not counted by any drill)."""
    times = []
    for n in range(3):
        status, payload, took, _ = post(batch(f"drill.base_{RUN}_{n}"), key=f"base-{RUN}-{n}")
        if status != 201:
            raise RuntimeError(f"baseline batch: {status} {payload}")
        times.append(took)
    return sorted(times)[1]


def kill_cluster():
    pid = postmaster_pid()
    for victim in [pid] + children_of(pid):
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pid


def keep_down(seconds):
    """Kills the cluster again each time the supervisor brings it back, for
    `seconds`: a store that stays down longer than the server keeps asking
    whether a commit it lost went through (10 s)."""
    until = time.perf_counter() + seconds
    last = None
    while time.perf_counter() < until:
        try:
            pid = postmaster_pid()
            if pid != last and os.path.exists(f"/proc/{pid}"):
                kill_cluster()
                last = pid
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.05)


def kill_trial(name, delay, *, with_key, external_ids=False, whole_cluster=False, down_s=0):
    """Posts a batch, kills PostgreSQL `delay` seconds in (and, with
    `down_s`, keeps it down that long), then retries as a well-behaved
    client would and counts what was stored."""
    action = f"drill.{name}_{RUN}"
    body = batch(action, external_ids=external_ids)
    key = f"{name}-{RUN}" if with_key else None
    first = {}

    def send():
        first["status"], first["payload"], first["took"], _ = post(body, key)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(delay)
    pid = postmaster_pid()
    victims = [pid] + (children_of(pid) if whole_cluster else [])
    for victim in victims:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass
    killed = time.perf_counter()
    if down_s:
        keep_down(down_s)
    sender.join(timeout=180)
    first_code = code_of(first.get("payload"))
    trial = {
        "name": name, "delay_ms": round(delay * 1000), "with_key": with_key, "external_ids": external_ids,
        "killed": ("postmaster and its children" if whole_cluster else "postmaster")
        + (f", kept down {down_s} s" if down_s else ""),
        "first_status": first.get("status"), "first_code": first_code,
        "first_error": first.get("payload") if first.get("status") is None else None,
        "first_ms": round(first.get("took", 0) * 1000),
    }
    # What the store holds right after the first answer, before any retry:
    # a 503 `unavailable` promises nothing; 201 promises everything.
    before_retry = count_events(KEY_B, action=action)
    trial["stored_before_retry"] = before_retry
    problems = []
    if first.get("status") is not None and first["status"] >= 500 and first["status"] != 503:
        problems.append(f"first answer {first['status']}")
    if first.get("status") == 201 and before_retry != BATCH:
        problems.append(f"201 but {before_retry} stored")
    if first_code == "unavailable" and before_retry != 0:
        problems.append(f"503 unavailable but {before_retry} stored")
    if before_retry not in (0, BATCH):
        problems.append(f"partial batch: {before_retry} of {BATCH}")

    if first.get("status") is None:
        # The server itself stayed up: it must answer, whatever the store did.
        problems.append(f"no answer: {trial['first_error']}")
    # A retry is safe with a key or external ids (stored at most once), and
    # without them only after "nothing was stored" (503 `unavailable`).
    retry_allowed = with_key or external_ids or first_code == "unavailable"
    if first.get("status") == 201:
        trial["retries"] = []
    elif retry_allowed:
        answers, took = wait_until_stored(body, key)
        trial["retries"] = answers
        trial["recovered_s"] = round(time.perf_counter() - killed, 2)
        if not answers or answers[-1]["status"] not in (201, 409):
            problems.append(f"retries never stored it: {answers[-3:]}")
        if answers and answers[-1]["status"] == 409 and not external_ids:
            problems.append("409 on a retry with the same key and body")
    else:
        # No key and no external ids, and the answer was not "nothing
        # stored": the client cannot know, and must not retry blindly.
        trial["retries"] = []
        trial["note"] = "no retry: the answer did not say nothing was stored"
    stored = count_events(KEY_B, action=action)
    trial["stored"] = stored
    if (trial["retries"] or first.get("status") == 201) and stored != BATCH:
        problems.append(f"stored {stored}, want exactly {BATCH}")
    if stored not in (0, BATCH):
        problems.append(f"partial batch: {stored}")
    trial["problems"] = problems
    trial["pass"] = not problems
    return trial


def wait_for_store(deadline_s=120):
    """Until a single event goes in again (after a kill)."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        status, *_ = post(json.dumps(event(0, f"drill.ping_{RUN}")).encode())
        if status == 201:
            return time.perf_counter() - started
        time.sleep(0.25)
    raise RuntimeError("the store did not come back")


def raw_request(body, declared, key, action_note, send_bytes, how):
    """Sends the headers and `send_bytes` of `body` on a bare socket, then
    closes it: `fin` (an orderly close), `rst` (a reset, as a crashed
    client's kernel sends) or `chunked` (a chunked body cut mid-chunk)."""
    url = urllib.parse.urlsplit(BASE)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    lines = [
        "POST /api/v1/events HTTP/1.1", f"Host: {url.netloc}", f"Authorization: Bearer {KEY_B}",
        "Content-Type: application/json", f"Idempotency-Key: {key}",
    ]
    if how == "chunked":
        lines.append("Transfer-Encoding: chunked")
        part = body[:send_bytes]
        payload = f"{len(body):x}\r\n".encode() + part
    else:
        lines.append(f"Content-Length: {declared}")
        payload = body[:send_bytes]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    time.sleep(0.3)
    if how == "rst":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def disconnect_drill(how):
    action = f"drill.cut_{how}_{RUN}"
    body = json.dumps({"events": [event(i, action) for i in range(200)]}).encode()
    key = f"cut-{how}-{RUN}"
    raw_request(body, len(body), key, action, len(body) // 2, how)
    time.sleep(1.0)
    stored = count_events(KEY_B, action=action)
    # The cut request must not have claimed the key either: the full
    # request with the same key is stored, once.
    status, payload, _, headers = post(body, key)
    after = count_events(KEY_B, action=action)
    problems = []
    if stored != 0:
        problems.append(f"{stored} stored from a cut request")
    if status != 201 or headers.get("idempotent-replayed"):
        problems.append(f"the full retry was answered {status} {code_of(payload)} (replayed: {headers.get('idempotent-replayed')})")
    if after != 200:
        problems.append(f"{after} stored after the full retry, want 200")
    return {"name": f"disconnect ({how})", "stored_after_cut": stored, "retry_status": status,
            "stored_after_retry": after, "problems": problems, "pass": not problems}


def stalled_body_drill(hold_s):
    """Headers and half a body, then silence: the connection is held, but
    nothing may be stored. Says how long the server kept waiting (there is a
    header timeout; is there a body one?)."""
    action = f"drill.stall_{RUN}"
    body = json.dumps({"events": [event(i, action) for i in range(50)]}).encode()
    url = urllib.parse.urlsplit(BASE)
    sock = socket.create_connection((url.hostname, url.port), timeout=hold_s + 5)
    head = (f"POST /api/v1/events HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {KEY_B}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    sock.sendall(head + body[: len(body) // 2])
    started = time.perf_counter()
    closed_after = None
    sock.settimeout(hold_s)
    try:
        data = sock.recv(4096)
        closed_after = time.perf_counter() - started
        answer = data.split(b"\r\n", 1)[0].decode(errors="replace") or "closed without an answer"
    except socket.timeout:
        answer = f"still open after {hold_s} s"
    except OSError as err:
        closed_after = time.perf_counter() - started
        answer = f"reset: {err}"
    sock.close()
    stored = count_events(KEY_B, action=action)
    problems = [f"{stored} stored from a stalled request"] if stored else []
    return {"name": "stalled body", "held_s": hold_s, "server_answer": answer,
            "closed_after_s": None if closed_after is None else round(closed_after, 2),
            "stored": stored, "problems": problems, "pass": not problems}


def slow_body_flood_drill(connections=4200):
    """More connections than the server serves at once (4,096), each sending
    its headers and a few bytes of body, then nothing. A header timeout
    closes clients that never finish their headers; this asks whether the
    server also stops waiting for a body, or whether these connections
    hold every slot so that nobody else is served."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < connections + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, connections + 200), hard))
    url = urllib.parse.urlsplit(BASE)
    body = json.dumps(event(0, f"drill.flood_{RUN}")).encode()
    head = (f"POST /api/v1/events HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {KEY_B}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    socks = []
    started = time.perf_counter()
    try:
        for _ in range(connections):
            s = socket.create_connection((url.hostname, url.port), timeout=10)
            s.sendall(head + body[:10])
            socks.append(s)
        opened_s = time.perf_counter() - started
        time.sleep(1)
        probe_started = time.perf_counter()
        try:
            status = requests.get(f"{BASE}/api/v1/openapi.json", timeout=15).status_code
        except requests.RequestException as err:
            status = type(err).__name__
        probe_s = time.perf_counter() - probe_started
    finally:
        for s in socks:
            s.close()
    time.sleep(1)
    after = requests.get(f"{BASE}/api/v1/openapi.json", timeout=15).status_code
    problems = [] if status == 200 else [f"a fresh client got {status} after {probe_s:.1f} s while the stalled "
                                         f"connections were open"]
    return {"name": "slow-body flood", "connections": len(socks), "opened_s": round(opened_s, 1),
            "fresh_client": status, "fresh_client_s": round(probe_s, 2), "after_close": after,
            "stored": count_events(KEY_B, action=f"drill.flood_{RUN}"), "problems": problems,
            "pass": not problems}


def racing_retries_drill():
    """Two copies of one batch with one Idempotency-Key at once (a client
    that retried too early): one is stored, the other is told so (a replay)
    or told to retry (409), never stored twice."""
    action = f"drill.race_{RUN}"
    body = batch(action)
    key = f"race-{RUN}"
    answers = [None, None]

    def send(i):
        answers[i] = post(body, key)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted((a[0], code_of(a[1]) or "", a[3].get("idempotent-replayed") or "") for a in answers)
    stored = count_events(KEY_B, action=action)
    problems = []
    if stored != BATCH:
        problems.append(f"stored {stored}, want {BATCH}")
    if any(s is None or s >= 500 for s, _, _ in statuses):
        problems.append(f"answers {statuses}")
    return {"name": "racing retries, one key", "answers": statuses, "stored": stored,
            "problems": problems, "pass": not problems}


def main():
    log_at = log_size()
    started = time.perf_counter()
    drills = []
    base = baseline_seconds()
    print(f"a full batch takes {base * 1000:.0f} ms when nothing fails", file=sys.stderr)

    for how in ("fin", "rst", "chunked"):
        drills.append(disconnect_drill(how))
    drills.append(racing_retries_drill())

    # Kills at points spread over the batch's own duration: before the
    # insert, inside it, around the commit, after it.
    fractions = [0.3, 0.7] if QUICK else [0.1, 0.3, 0.5, 0.7, 0.9, 1.1]
    trials = []
    for n, f in enumerate(fractions):
        trials.append(kill_trial(f"k9key_{n}", base * f, with_key=True))
        wait_for_store()
    if not QUICK:
        # The commit lies between the last kill answered "nothing stored" and
        # the first answered 201: aim more kills, of the whole cluster, there.
        unstored = [t["delay_ms"] for t in trials if t["first_status"] != 201]
        stored = [t["delay_ms"] for t in trials if t["first_status"] == 201 and t["delay_ms"] > max(unstored, default=0)]
        low, high = max(unstored, default=0), min(stored, default=int(base * 1100))
        for n in range(6):
            delay = (low + (high - low) * (n + 1) / 7) / 1000
            trials.append(kill_trial(f"k9edge_{n}", delay, with_key=True, whole_cluster=True))
            wait_for_store()
        for n, f in enumerate([0.3, 0.6, 0.9]):
            trials.append(kill_trial(f"k9all_{n}", base * f, with_key=True, whole_cluster=True))
            wait_for_store()
        for n, f in enumerate([0.3, 0.6, 0.9]):
            trials.append(kill_trial(f"k9ext_{n}", base * f, with_key=False, external_ids=True))
            wait_for_store()
        for n, f in enumerate([0.3, 0.6, 0.9]):
            trials.append(kill_trial(f"k9nokey_{n}", base * f, with_key=False, whole_cluster=True))
            wait_for_store()
        # Down for longer than the server asks after a lost commit: the
        # answer may be `outcome_unknown`, and only a keyed retry is safe.
        for n, f in enumerate([0.8, 0.95]):
            trials.append(kill_trial(f"k9down_{n}", base * f, with_key=True, whole_cluster=True, down_s=12))
            wait_for_store()
        drills.append(stalled_body_drill(30))
        drills.append(slow_body_flood_drill())

    chains = {}
    for org, key in (("globex", KEY_B), ("acme", KEY_A)):
        chains[org] = verify_chain(key)
    chain_problems = [f"{org}: {c['summary']}" for org, c in chains.items() if not c.get("ok")]

    panics = server_log_panics(log_at)
    result = {
        "baseline_batch_ms": round(base * 1000),
        "drills": drills,
        "kill_trials": trials,
        "chains": {org: {"ok": c["ok"], "summary": c["summary"]} for org, c in chains.items()},
        "panics": panics,
        "seconds": round(time.perf_counter() - started, 1),
    }
    failed = [d["name"] for d in drills + trials if not d["pass"]] + chain_problems + (["panics"] if panics else [])
    result["failed"] = failed
    write_result("drills", result)
    for d in drills + trials:
        print(("PASS " if d["pass"] else "FAIL ") + d["name"] + (f": {d['problems']}" if d["problems"] else ""),
              file=sys.stderr)
    if failed:
        print(f"drills failed: {failed}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
