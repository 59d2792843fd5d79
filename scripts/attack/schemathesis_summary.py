"""Reads schemathesis's JSON run report and sorts its failures:

- server errors (ST101, ST102): any 5xx; must be none;
- schema violations (ST103-ST111): an answer its own OpenAPI document does
  not describe (status, headers, content type, body); must be none;
- everything else (accepted-invalid or refused-valid inputs, auth and
  resource checks): reported, with schemathesis's own words, for a person
  to judge: some are the document being looser than the rules it states in
  prose (e.g. `occurred_at` at most 24 hours ahead).

Usage: schemathesis_summary.py REPORT_JSON... (one per run; the log beside
each, same name with .log, gives the reproductions)
"""

import json
import pathlib
import re
import sys

from common import write_result

SERVER_ERRORS = {"ST101", "ST102"}
SCHEMA_VIOLATIONS = {f"ST1{n:02d}" for n in range(3, 12)}


def main():
    runs, failures, errors, problems, reproductions = [], [], [], [], []
    for path in map(pathlib.Path, sys.argv[1:]):
        name = path.stem.removeprefix("st-")
        if not path.exists() or path.stat().st_size == 0:
            problems.append(f"{name}: no report (schemathesis stalled past its time guard twice)")
            runs.append({"name": name, "complete": False})
            continue
        report = json.loads(path.read_text())
        log = path.with_suffix(".log")
        text = log.read_text(errors="replace") if log.exists() else ""
        reproductions += re.findall(r"^\s*(curl .+)$", text, flags=re.M)[:10]
        failures += report.get("failures", [])
        errors += report.get("errors", [])
        runs.append({
            "name": name,
            "version": report.get("schemathesis_version"),
            "seed": report.get("seed"),
            "complete": report.get("complete"),
            "stop_reason": report.get("stop_reason"),
            "running_time_s": round(report.get("running_time") or 0, 1),
            "operations": report.get("operations"),
            "phases": report.get("phases"),
            "test_cases": report.get("test_cases"),
        })
        if not report.get("complete"):
            problems.append(f"{name}: the run did not complete ({report.get('stop_reason')})")

    def total(codes):
        return sum(f["count"] for f in failures if f["code"] in codes)

    done = [r for r in runs if r.get("test_cases")]
    result = {
        "version": next((r["version"] for r in done), None),
        "runs": runs,
        "operations_tested": sum((r.get("operations") or {}).get("tested", 0) for r in done),
        "test_cases": sum(r["test_cases"]["generated"] for r in done),
        "running_time_s": round(sum(r["running_time_s"] for r in done), 1),
        "server_errors": total(SERVER_ERRORS),
        "schema_violations": total(SCHEMA_VIOLATIONS),
        "other_findings": [f for f in failures if f["code"] not in SERVER_ERRORS | SCHEMA_VIOLATIONS],
        "failures": failures,
        "errors": errors,
        "reproductions": reproductions[:20],
    }
    if result["server_errors"]:
        problems.append(f"{result['server_errors']} server errors")
    if result["schema_violations"]:
        problems.append(f"{result['schema_violations']} schema violations")
    if errors:
        problems.append(f"errors: {errors}")
    result["failed"] = problems
    write_result("schemathesis", result)
    print(f"schemathesis: {result['test_cases']} test cases, {result['server_errors']} server errors, "
          f"{result['schema_violations']} schema violations, other findings: "
          f"{[(f['code'], f['title'], f['count']) for f in result['other_findings']]}", file=sys.stderr)
    if problems:
        print("schemathesis failed: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
