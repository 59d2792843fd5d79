"""Writes the campaign's Markdown report from the parts' JSON results.

Usage: report.py OUT COMMAND (the ATTACK_* variables as attack.sh sets them)
"""

import datetime
import glob
import json
import os
import pathlib
import platform
import subprocess
import sys

RESULTS = pathlib.Path(os.environ["ATTACK_RESULTS"])
MODE = os.environ.get("ATTACK_MODE", "quick")


def load(part):
    path = RESULTS / f"{part}.json"
    return json.loads(path.read_text()) if path.exists() else None


def seconds(part):
    path = RESULTS / f"{part}.seconds"
    return int(path.read_text()) if path.exists() else None


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
        mem = f", {kib / 1024 / 1024:.1f} GiB memory"
    except (OSError, StopIteration):
        pass
    pg = "PostgreSQL (version unknown)"
    for postgres in sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True):
        try:
            pg = subprocess.run([postgres, "--version"], capture_output=True, text=True).stdout.strip()
            break
        except OSError:
            continue
    return f"{os.cpu_count()} CPUs ({cpu}){mem}, Linux {platform.release()}, {pg}"


def commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def yes(ok):
    return "yes" if ok else "**no**"


def fmt(n):
    return f"{n:,}" if isinstance(n, int) else str(n)


def statuses(counter):
    return ", ".join(f"{k}: {fmt(v)}" for k, v in sorted(counter.items())) or "none"


def main():
    out, command = pathlib.Path(sys.argv[1]), sys.argv[2]
    events = int(os.environ.get("ATTACK_EVENTS", "0"))
    st, fz, dr, sv = load("schemathesis"), load("fuzz"), load("drills"), load("starvation")
    failed = [f for f in os.environ.get("ATTACK_FAILED", "").split("|") if f]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = [
        "# Reliability",
        "",
        f"Written by `{command}` (see the README) on {now}, commit `{commit()}`. "
        "Every figure below comes from that one run, against the release server "
        "(`audit-timeline serve --demo`) on its own embedded PostgreSQL.",
        "",
        f"- **Machine:** {machine()}",
        f"- **Dataset:** the demo data: {fmt(events)} events in org A (`acme`), {fmt(events // 10)} in org B "
        f"(`globex`), loaded at start ({os.environ.get('ATTACK_LOAD_S', '?')} s to a serving server)",
        f"- **Run time:** {os.environ.get('ATTACK_TOTAL_S', '?')} s in all "
        f"(schemathesis {seconds('schemathesis')} s, fuzz {seconds('fuzz')} s, drills {seconds('drills')} s, "
        f"starvation {seconds('starvation')} s)",
        f"- **Verdict:** {'every check passed' if not failed else 'FAILED: ' + ', '.join(failed)}",
        "",
        "## Summary",
        "",
    ]
    rows = []
    if st:
        rows.append(["schemathesis over `/api/v1/openapi.json`", f"{fmt(st['test_cases'])} test cases",
                     f"{st['server_errors']} 5xx, {st['schema_violations']} schema violations",
                     yes(not st["failed"])])
    if fz:
        rows.append(["fuzz of server functions and page URLs", f"{fmt(fz['inputs'])} inputs",
                     f"{fz['server_errors']} 5xx, {len(fz['panics'])} panics", yes(not fz["server_errors"] and not fz["panics"])])
    if dr:
        all_drills = dr["drills"] + dr["kill_trials"]
        passed = sum(1 for d in all_drills if d["pass"])
        rows.append(["fault drills", f"{len(all_drills)} drills", f"{passed} passed; chains: "
                     + ", ".join(f"{o} {'intact' if c['ok'] else 'BROKEN'}" for o, c in dr["chains"].items()),
                     yes(not dr["failed"])])
    if sv:
        r = sv["ratios"]
        rows.append(["starvation: org B while org A is attacked", f"{sv['attackers']} attackers, {sv['phase_s']} s",
                     f"ingest p95 ×{r.get('ingest p95_ms')}, sign-in p95 ×{r.get('sign_in p95_ms')}",
                     yes(not sv["problems"])])
    md += [table(["part", "tried", "result", "passed"], rows), ""]

    if st:
        md += [
            "## 1. The API against its own OpenAPI document",
            "",
            f"schemathesis {st.get('version')} (seeds {', '.join(str(r.get('seed')) for r in st['runs'])}), "
            "every check (`--checks all`), every "
            "phase asked for (examples, coverage, fuzzing, stateful), with an API key of org B. The examples "
            "phase has nothing to run while the document carries no examples, and the stateful one while no "
            "operation takes what another returns (no OpenAPI links: ingestion returns ids, and no route "
            "takes one). A 5xx (ST101/ST102) or an answer the document does not describe (ST103-ST111: "
            "status, headers, content type, body schema) fails the campaign. The export runs on its own: "
            "its query patterns (lookaheads) are slow for hypothesis to satisfy, so each run has a time "
            "budget and a hard guard.",
            "",
            table(["run", "operations", "test cases", "phases", "seconds", "complete"],
                  [[r["name"], (r.get("operations") or {}).get("tested"), fmt((r.get("test_cases") or {}).get("generated")),
                    ", ".join(f"{k}: {v['status']}" + (f" ({v['skip_reason']})" if v.get("skip_reason") else "")
                              for k, v in (r.get("phases") or {}).items()),
                    r.get("running_time_s"), yes(r.get("complete"))] for r in st["runs"]]),
            "",
            f"{fmt(st['test_cases'])} test cases over {st['operations_tested']} operations: "
            f"{st['server_errors']} answers of 500 or over, {st['schema_violations']} schema violations"
            + (f"; {'; '.join(st['failed'])}" if st["failed"] else "") + ".",
            "",
        ]
        if st.get("other_findings"):
            md += ["Other findings, reported for a person to judge (they do not fail the run):", ""]
            md += [table(["code", "finding", "count", "operations"],
                         [[f["code"], f["title"], f["count"], ", ".join(f["operations"])] for f in st["other_findings"]]), ""]
        else:
            md += ["No other check reported anything.", ""]
    if fz:
        md += [
            "## 2. Fuzzing the server functions and the pages",
            "",
            "Hypothesis-generated arguments posted to every server function under `/api/ui/` (filters with "
            "every field, two-character and query-syntax searches, cursors the server issued and mutations of "
            "them, page sizes past 64 bits, dates out of range or nonexistent, time zones real and not, UUIDs, "
            "raw bytes, missing and mistyped arguments), signed in as Acme's owner (a tenth without a cookie); "
            "and generated query strings for `/o/{org}`, the record history pages, `/embed` and `/login` "
            "(known filter keys with hostile values, unknown keys, percent-encodings that are not UTF-8). "
            "The property: every answer below 500, and no panic in the server log.",
            "",
            table(["route", "inputs", "answers"],
                  [[r, fmt(sum(c.values())), statuses(c)] for r, c in fz["by_route"].items()]),
            "",
            f"{fmt(fz['inputs'])} inputs ({fmt(fz['server_function_inputs'])} to server functions, "
            f"{fmt(fz['page_inputs'])} to pages) in {fz['seconds']} s; 5xx: {fz['server_errors']}; "
            f"panics: {len(fz['panics'])}.",
            "",
        ]
        if fz["failures"]:
            md += ["Answers of 500 and over, one line per route and kind of error, each with its shortest input "
                   "(`$COOKIE`: a session cookie of Acme's owner):", ""]
        for f in sorted(fz["failures"], key=lambda f: (str(f["status"]), f["kind"], f["route"])):
            md += [f"- **{f['status']}** on {f['route']} ({fmt(f['count'])}×): `{f['body'][:160]}`", "",
                   f"  ```sh\n  {f['curl']}\n  ```", ""]
        for p in fz.get("panic_suspects", []):
            md += [f"- **panic** logged while answering {p['url']} (answer: {p['status'] or 'none'}): "
                   f"`{p['panic'][:200]}`", ""]
    if dr:
        md += [
            "## 3. Fault drills",
            "",
            f"All against org B with its API key; what was stored is counted by exporting the drill's own "
            f"action. A full 1,000-event batch (~1.5 KiB an event) takes {dr['baseline_batch_ms']} ms when "
            "nothing fails.",
            "",
            "### PostgreSQL killed under a 1,000-event batch",
            "",
            "`kill -9` of the embedded cluster's postmaster (its pid from `postmaster.pid`), or of the "
            "postmaster and every backend at once, at points spread over the batch's own duration. The server "
            "supervises the cluster and restarts it; the client then retries as the API documents: with the "
            "same `Idempotency-Key`, or the same `external_id`s, or (with neither) only after a 503 "
            "`unavailable`, which promises nothing was stored. Passes when the first answer is one the "
            "document describes, nothing is ever partly stored, and after the retries the batch is stored "
            "exactly once.",
            "",
            table(["drill", "killed", "after", "first answer", "stored then", "retries", "back after",
                   "stored at the end", "passed"],
                  [[t["name"], t["killed"], f"{t['delay_ms']} ms",
                    f"{t['first_status']} {t['first_code'] or ''}".strip() if t["first_status"] else "no answer",
                    t["stored_before_retry"], len(t["retries"]),
                    f"{t['recovered_s']} s" if t.get("recovered_s") is not None else "",
                    t["stored"], yes(t["pass"])] for t in dr["kill_trials"]]),
            "",
            "### Clients that go away, and racing retries",
            "",
            table(["drill", "what happened", "passed"],
                  [[d["name"], drill_story(d), yes(d["pass"])] for d in dr["drills"]]),
            "",
            "Chains verified afterwards (`POST /api/v1/verify`): "
            + "; ".join(f"{o}: {c['summary']}" for o, c in dr["chains"].items()) + ".",
            "",
        ]
        problems = [(d["name"], p) for d in dr["drills"] + dr["kill_trials"] for p in d["problems"]]
        if problems:
            md += ["Failures:", ""] + [f"- {n}: {p}" for n, p in problems] + [""]
        md += [
            "### What a client should do",
            "",
            "- `201`: stored, all of it. A retry with the same `Idempotency-Key` is answered from the "
            "record (`Idempotent-Replayed: true`) and stores nothing.",
            "- `503` with `error.code` `unavailable`: nothing was stored; retry after `Retry-After`, with or "
            "without a key.",
            "- `503` with `error.code` `outcome_unknown`: the commit was sent but not confirmed, and the "
            "store could not be asked within 10 s; the events may be stored. Retry only with the same "
            "`Idempotency-Key` or the same `external_id`s (a `409` then names those already stored). "
            "Without either, do not retry blindly: export the batch's time range or action to see.",
            "- No answer at all (connection reset, timeout): the same as `outcome_unknown`. Always send an "
            "`Idempotency-Key` (or `external_id`s) so this case is a plain retry.",
            "",
        ]
    if sv:
        md += [
            "## 4. Starvation",
            "",
            f"{sv['attackers']} concurrent clients of org A ({sv['accounts_a']} signed-in demo accounts and "
            f"{sv['keys_a']} API keys) each loop one worst-case read: two-character searches matching nothing "
            "(too short for the trigram index, so every search walks the whole org), match counts of the same, "
            "actor searches, whole-org exports through the API and the page. Meanwhile org B sends one event "
            f"every 50 ms and signs one person in a second, for {sv['phase_s']} s before the attack and "
            f"{sv['phase_s']} s during it. A 429 is the right answer to requests over org A's share.",
            "",
            table(["phase", "org B ingest p50 ms", "p95 ms", "max ms", "n", "sign-in p50 ms", "p95 ms", "n",
                   "org B failures"],
                  [[p["phase"], p["ingest"]["p50_ms"], p["ingest"]["p95_ms"], p["ingest"]["max_ms"], p["ingest"]["n"],
                    p["sign_in"]["p50_ms"], p["sign_in"]["p95_ms"], p["sign_in"]["n"], p["error_count"]]
                   for p in sv["phases"]]),
            "",
            "Ratios, during / before: " + ", ".join(f"{k} ×{v}" for k, v in sv["ratios"].items()) + ".",
            "",
            "What org A's attackers were answered:",
            "",
            table(["read", "answers"], [[k, statuses(v)] for k, v in sorted(sv["attack_by_kind"].items())]),
            "",
        ]
        if sv["problems"]:
            md += ["Failures:", ""] + [f"- {p}" for p in sv["problems"]] + [""]
    out.write_text("\n".join(md).rstrip() + "\n")


def drill_story(d):
    if d["name"].startswith("disconnect"):
        return (f"half the body sent, then closed: {d['stored_after_cut']} stored; the full request with the "
                f"same key: {d['retry_status']}, {d['stored_after_retry']} stored")
    if d["name"] == "stalled body":
        closed = f"closed after {d['closed_after_s']} s" if d["closed_after_s"] is not None else "kept open"
        return f"half the body, then silence for {d['held_s']} s: {d['server_answer']} ({closed}); {d['stored']} stored"
    if d["name"] == "slow-body flood":
        return (f"{fmt(d['connections'])} connections, each headers and 10 bytes of body, then silence "
                f"(opened in {d['opened_s']} s): a fresh client's request got {d['fresh_client']} after "
                f"{d['fresh_client_s']} s; once they closed, {d['after_close']}; {d['stored']} stored")
    if d["name"].startswith("racing"):
        return f"answers {d['answers']}; {d['stored']} stored"
    return json.dumps({k: v for k, v in d.items() if k not in ("name", "pass", "problems")})


if __name__ == "__main__":
    main()
