"""Reads schemathesis's JSON run report and sorts its failures:

- server errors (ST101, ST102): any 5xx; must be none;
- schema violations (ST103-ST111): an answer its own OpenAPI document does
  not describe (status, headers, content type, body); must be none;
- everything else (accepted-invalid or refused-valid inputs, auth and
  resource checks): reported, with schemathesis's own words, for a person
  to judge: some are the document being looser than the rules it states in
  prose (e.g. `occurred_at` at most 24 hours ahead).

Usage: schemathesis_summary.py REPORT_JSON LOG EXIT_CODE
"""

import json
import pathlib
import re
import sys

from common import write_result

SERVER_ERRORS = {"ST101", "ST102"}
SCHEMA_VIOLATIONS = {f"ST1{n:02d}" for n in range(3, 12)}


def main():
    report_path, log_path, exit_code = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
    if not report_path.exists():
        print(f"schemathesis wrote no report (exit {exit_code}); see its log", file=sys.stderr)
        write_result("schemathesis", {"complete": False, "exit_code": exit_code, "failed": ["no report"]})
        sys.exit(1)
    report = json.loads(report_path.read_text())
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    failures = report.get("failures", [])

    def total(codes):
        return sum(f["count"] for f in failures if f["code"] in codes)

    result = {
        "version": report.get("schemathesis_version"),
        "seed": report.get("seed"),
        "complete": report.get("complete"),
        "stop_reason": report.get("stop_reason"),
        "running_time_s": round(report.get("running_time") or 0, 1),
        "operations": report.get("operations"),
        "phases": report.get("phases"),
        "test_cases": report.get("test_cases"),
        "server_errors": total(SERVER_ERRORS),
        "schema_violations": total(SCHEMA_VIOLATIONS),
        "other_findings": [f for f in failures if f["code"] not in SERVER_ERRORS | SCHEMA_VIOLATIONS],
        "failures": failures,
        "errors": report.get("errors", []),
        "reproductions": re.findall(r"^\s*(curl .+)$", log, flags=re.M)[:20],
        "exit_code": exit_code,
    }
    problems = []
    if not report.get("complete"):
        problems.append(f"the run did not complete ({report.get('stop_reason')})")
    if result["server_errors"]:
        problems.append(f"{result['server_errors']} server errors")
    if result["schema_violations"]:
        problems.append(f"{result['schema_violations']} schema violations")
    if result["errors"]:
        problems.append(f"errors: {result['errors']}")
    result["failed"] = problems
    write_result("schemathesis", result)
    cases = report.get("test_cases") or {}
    print(f"schemathesis: {cases.get('generated')} test cases, {result['server_errors']} server errors, "
          f"{result['schema_violations']} schema violations, other findings: "
          f"{[(f['code'], f['title'], f['count']) for f in result['other_findings']]}", file=sys.stderr)
    if problems:
        print("schemathesis failed: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
