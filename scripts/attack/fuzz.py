"""Property-based fuzz of what a browser (or anyone with a session cookie)
can send: the Leptos server functions under /api/ui/ with generated
arguments, and the server-rendered pages' query strings.

The property: whatever the input, the server answers below 500 (a 400 that
names the field, a 404, a 429 when over a share) and never panics. Every
input is sent signed in as Acme's owner, except a few without a cookie.

Server functions take their arguments url-encoded the way serde_qs writes
them (`filter[actions][0]=delete`), which is what the hydrated browser
sends; the fuzz also sends shapes a browser never would (missing
arguments, wrong types, bytes that are not UTF-8).
"""

import collections
import json
import random
import sys
import time
import urllib.parse
import uuid
import zoneinfo

import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from common import (
    BASE, ORG_A, ORG_B, QUICK, SERVER_LOG, account, log_size, qs, server_log_panics, sign_in, write_result,
)

EXAMPLES = 150 if QUICK else 1000  # per server function
PAGE_EXAMPLES = 300 if QUICK else 2000  # per page route

ACTIONS = ["delete", "login_failed", "permission_change", "invoice.update", "invoice.*", "*.view",
           "member.role_change", "api_key.create", "*", "*.*", "a.*.b", "invoice..update"]
ENTITIES = ["invoice", "ticket", "member", "api_key", "document", "project"]
ZONES = sorted(zoneinfo.available_timezones())[:600] + ["UTC", "utc", "Etc/GMT+12", "+05:00", "Europe/Atlantis"]
QUERY_WORDS = ["actor:alice", "action:invoice.*", "-action:*.view", "entity:invoice,ticket", "ip:10.1.0.0/16",
               "session:sess_42", "country:DE", "record:inv_1042", "within:7d", "after:2026-01-01",
               "before:2026-02-01", '"exact phrase"', '"', "-", ":", "actor:", "ip:999.1.1.1/99",
               "after:2026-02-30", "within:1y", "%", "_", "\\", "\u0000", "🦀"]

printable = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
anything = st.one_of(printable, st.text(max_size=400), st.just(""), st.sampled_from(["null", "[]", "{}", "-1", "0"]))
two_chars = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=2, max_size=2)
query_text = st.one_of(
    two_chars,
    anything,
    st.lists(st.sampled_from(QUERY_WORDS) | two_chars | printable, max_size=12).map(" ".join),
)
action = st.one_of(st.sampled_from(ACTIONS), printable)
entity = st.one_of(st.sampled_from(ENTITIES), printable)
ip = st.one_of(
    st.ip_addresses().map(str),
    st.tuples(st.ip_addresses(), st.integers(-5, 200)).map(lambda t: f"{t[0]}/{t[1]}"),
    printable,
)
datetime_text = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["0000-01-01T00:00:00", "9999-12-31T23:59:59", "2026-02-30T00:00:00", "2026-03-29T02:30:00",
                     "+262143-01-01T00:00:00", "2026-01-01", "2026-01-01T25:00:00", "1970-01-01T00:00:00Z"]),
    printable,
)
zone = st.one_of(st.sampled_from(ZONES), printable)
within = st.one_of(st.sampled_from(["Day", "Week", "Month", "day", "24h", "7d", "30d", ""]), printable)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


# `q` always present, as the browser's serde_qs writes it even when empty
# (without it the argument does not decode: the raw bodies below try that).
filters = st.fixed_dictionaries({"q": query_text}, optional={
    "actions": st.lists(action, max_size=40),
    "not_actions": st.lists(action, max_size=10),
    "entity_types": st.lists(entity, max_size=40),
    "actors": st.lists(printable, max_size=40),
    "record": anything,
    "ip": ip,
    "session": anything,
    "country": st.one_of(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2), printable),
    "within": within,
    "after": datetime_text,
    "before": datetime_text,
    "tz": zone,
    "unknown_key": printable,
})
org = st.one_of(st.just(ORG_A), st.just(ORG_A), st.just(ORG_A), st.just(ORG_B), st.just("initech"),
                st.just("embed.0123456789abcdef0123456789abcdef"), printable)
number = st.one_of(st.integers(-(2**70), 2**70).map(str), st.integers(-5, 500).map(str), printable)


def kind_of(text):
    """What sort of error an answer is, for grouping: the AppError variant
    and field (`BadRequest/arguments`), else the start of the text."""
    try:
        body = json.loads(text)
    except ValueError:
        return text[:60]
    if isinstance(body, dict) and len(body) == 1:
        (variant, detail), = body.items()
        return f"{variant}/{detail.get('field')}" if isinstance(detail, dict) else variant
    return text[:60]


class Tally:
    """Every answer, by route and status; the 5xx ones kept to reproduce."""

    def __init__(self):
        self.statuses = collections.Counter()
        self.by_route = collections.defaultdict(collections.Counter)
        self.failures = {}
        self.sent = 0
        self.panic_suspects = []
        self.log_at = SERVER_LOG.stat().st_size if SERVER_LOG.exists() else 0

    def new_log_panics(self):
        """Panic lines the server logged since the last look."""
        try:
            with open(SERVER_LOG, "rb") as log:
                log.seek(self.log_at)
                fresh = log.read()
                self.log_at += len(fresh)
        except OSError:
            return []
        return [line for line in fresh.decode(errors="replace").splitlines() if "panicked" in line]

    def record(self, route, method, url, body, res, cookie, content_type=None):
        self.sent += 1
        # A panic is logged while (or just after) its request is answered:
        # the request just sent is the suspect, kept as the reproduction.
        for line in self.new_log_panics():
            self.panic_suspects.append({"route": route, "url": url, "body": (body or b"").decode(errors="replace"),
                                        "status": res.status_code if res is not None else None, "panic": line})
        status = res.status_code if res is not None else "no answer"
        self.statuses[status] += 1
        self.by_route[route][status] += 1
        if res is None or res.status_code >= 500:
            text = res.text[:300] if res is not None else ""
            signature = (route, status, kind_of(text))
            curl = f"curl -sS -i -X {method} '{url}'"
            if cookie:
                curl += ' -b "atl_session=$COOKIE"'
            if body is not None:
                # printf with \x escapes carries any byte, valid UTF-8 or not.
                escaped = "".join(chr(b) if 32 <= b < 127 and chr(b) not in "'%\\" else f"\\x{b:02x}"
                                  for b in body)
                curl = f"printf '{escaped}' | {curl} -H 'content-type: {content_type}'"
                curl += " --data-binary @-"
            seen = self.failures.get(signature)
            # Keep the shortest input of each kind: the easiest to reproduce.
            if seen is None or len(curl) < len(seen["curl"]):
                self.failures[signature] = {"route": route, "status": status, "kind": signature[2], "body": text,
                                            "curl": curl, "count": (seen or {"count": 0})["count"]}
            self.failures[signature]["count"] += 1


tally = Tally()
http = requests.Session()


def call(endpoint, args=None, raw=None, cookie=True, content_type="application/x-www-form-urlencoded"):
    body = raw if raw is not None else qs(args or {})
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    url = f"{BASE}/api/ui/{endpoint}"
    headers = {"content-type": content_type, "accept": "application/json"}
    if cookie:
        headers["cookie"] = f"atl_session={COOKIE}"
    try:
        res = requests.post(url, data=body, headers=headers, timeout=60)
    except requests.RequestException:
        res = None
    tally.record(endpoint, "POST", url, body, res, cookie, content_type)
    return res


def get_page(path, query, cookie=True):
    url = f"{BASE}{path}?{query}"
    headers = {"cookie": f"atl_session={COOKIE}"} if cookie else {}
    try:
        res = requests.get(url, headers=headers, timeout=60, allow_redirects=False)
    except requests.RequestException:
        res = None
    route = "GET " + path.replace(ORG_A, "{org}", 1).split("/records/")[0] + ("/records/…" if "/records/" in path else "")
    tally.record(route, "GET", url, None, res, cookie)
    return res


def run(test):
    settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
             suppress_health_check=list(HealthCheck))(test)()


def fuzz_server_functions(cursors):
    cursor = st.one_of(
        st.none(), st.just(""), st.sampled_from(cursors),
        st.tuples(st.sampled_from(cursors), st.integers(0, 60), st.characters(min_codepoint=33, max_codepoint=126))
        .map(lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1:]),
        anything,
    )

    @given(org=org, filter=filters, scope=filters, cursor=cursor, page_size=maybe(number), signed_in=st.booleans())
    def timeline(org, filter, scope, cursor, page_size, signed_in):
        call("timeline", {"org": org, "filter": filter, "scope": scope, "cursor": cursor, "page_size": page_size},
             cookie=signed_in or random.random() < 0.9)

    @given(org=org, filter=filters, scope=filters, after_seq=maybe(number))
    def events_since(org, filter, scope, after_seq):
        call("events-since", {"org": org, "filter": filter, "scope": scope, "after_seq": after_seq})

    @given(org=org, filter=filters, scope=filters)
    def count(org, filter, scope):
        call("count", {"org": org, "filter": filter, "scope": scope})

    @given(org=org, search=maybe(query_text))
    def actors(org, search):
        call("actors", {"org": org, "search": search})

    @given(org=org, id=st.one_of(st.uuids().map(str), st.just(str(uuid.UUID(int=0))), printable))
    def neighbors(org, id):
        call("record-neighbors", {"org": org, "id": id})

    @given(org=maybe(org), endpoint=st.sampled_from(["entity-types", "chain-status", "viewer", "demo-accounts"]))
    def small(org, endpoint):
        call(endpoint, {"org": org})

    # Bodies no browser sends: bytes, JSON, repeated and bracket-broken keys.
    @given(endpoint=st.sampled_from(["timeline", "count", "events-since", "actors", "record-neighbors", "viewer"]),
           body=st.one_of(st.binary(max_size=300),
                          st.lists(st.tuples(st.sampled_from(["org", "filter[q]", "filter[actions][]", "filter[",
                                                              "filter[actions][99999999999]", "scope[tz]",
                                                              "page_size", "cursor", "filter[after]", "filter]["]),
                                             printable), max_size=8)
                          .map(lambda ps: urllib.parse.urlencode(ps)),
                          st.just("org=acme&filter=x&scope=y")),
           content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]))
    def raw(endpoint, body, content_type):
        call(endpoint, raw=body, content_type=content_type)

    for test in (timeline, events_since, count, actors, neighbors, small, raw):
        started = time.perf_counter()
        before = tally.sent
        run(test)
        print(f"  {test.__name__}: {tally.sent - before} inputs in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)


URL_KEYS = ["q", "action", "not_action", "entity", "actor", "record", "ip", "session", "country", "within",
            "after", "before", "tz"]
url_value = st.one_of(query_text, st.lists(action, max_size=6).map(",".join), ip, datetime_text, zone,
                      st.sampled_from(["24h", "7d", "30d", "1y", ""]))
raw_bytes = st.binary(max_size=40).map(lambda b: urllib.parse.quote_from_bytes(b))


def page_query(pairs):
    return "&".join(f"{urllib.parse.quote(k, safe='')}={v}" for k, v in pairs)


def fuzz_pages():
    pair = st.one_of(
        st.tuples(st.sampled_from(URL_KEYS), url_value.map(lambda v: urllib.parse.quote(v, safe=""))),
        st.tuples(st.sampled_from(URL_KEYS + ["cursor", "event", "page", "theme"]), raw_bytes),
        st.tuples(printable, printable.map(lambda v: urllib.parse.quote(v, safe=""))),
        st.just(("%zz", "%C3%28")),
    )
    pairs = st.lists(pair, max_size=10)

    @settings(max_examples=PAGE_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(pairs=pairs, org=st.sampled_from([ORG_A, ORG_A, ORG_B, "nobody"]))
    def timeline_page(pairs, org):
        get_page(f"/o/{org}", page_query(pairs))

    @settings(max_examples=PAGE_EXAMPLES // 3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(pairs=pairs, kind=st.sampled_from(["invoice", "member", "x"]),
           rid=st.one_of(st.sampled_from(["inv_1042", "usr_1"]), printable.filter(lambda s: "/" not in s)))
    def record_page(pairs, kind, rid):
        get_page(f"/o/{ORG_A}/records/{kind}/{urllib.parse.quote(rid, safe='') or 'x'}", page_query(pairs))

    embed_pair = st.one_of(
        st.tuples(st.sampled_from(["theme", "density", "accent", "font", "controls", "view", "token"]),
                  st.one_of(printable, raw_bytes, st.sampled_from(["dark", "compact", "1f6feb", "serif", "none",
                                                                      "search,actions,entities,actors,dates,more"]))
                  .map(lambda v: urllib.parse.quote(v, safe="%"))),
        pair,
    )

    @settings(max_examples=PAGE_EXAMPLES // 3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(pairs=st.lists(embed_pair, max_size=8), path=st.sampled_from(["/embed", "/login"]))
    def other_pages(pairs, path):
        get_page(path, page_query(pairs), cookie=path == "/login")

    for test in (timeline_page, record_page, other_pages):
        started = time.perf_counter()
        before = tally.sent
        test()
        print(f"  {test.__name__}: {tally.sent - before} inputs in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)


def real_cursors():
    """Cursors the server issued, for the fuzz to replay and mutate."""
    found = []
    res = call("timeline", {"org": ORG_A, "filter": NO_FILTER, "scope": NO_FILTER, "page_size": "3"})
    for _ in range(5):
        if res is None or res.status_code != 200:
            break
        nxt = res.json().get("next_cursor")
        if not nxt:
            break
        found.append(nxt)
        res = call("timeline", {"org": ORG_A, "filter": NO_FILTER, "scope": NO_FILTER, "cursor": nxt,
                                "page_size": "3"})
    return found or ["AAAA"]


COOKIE = ""
NO_FILTER = {"q": ""}


def main():
    log_at = log_size()
    global COOKIE
    started = time.perf_counter()
    COOKIE, _ = sign_in(account("owner")["email"])
    # The encoding is right if a filter narrows the page.
    everything = call("timeline", {"org": ORG_A, "filter": NO_FILTER, "scope": NO_FILTER, "page_size": "50"})
    everything = everything.json()["events"]
    deletes = call("timeline", {"org": ORG_A, "filter": {"q": "", "actions": ["delete"]}, "scope": NO_FILTER,
                                "page_size": "50"})
    assert deletes.status_code == 200, deletes.text
    assert all("delete" in e["action"] for e in deletes.json()["events"]) and everything, "encoding is wrong"
    cursors = real_cursors()
    print("server functions", file=sys.stderr)
    fuzz_server_functions(cursors)
    functions_sent = tally.sent
    print("pages", file=sys.stderr)
    fuzz_pages()
    panics = server_log_panics(log_at)
    result = {
        "inputs": tally.sent,
        "server_function_inputs": functions_sent,
        "page_inputs": tally.sent - functions_sent,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items(), key=lambda kv: str(kv[0]))},
        "by_route": {r: {str(k): v for k, v in c.items()} for r, c in sorted(tally.by_route.items())},
        "server_errors": sum(v for k, v in tally.statuses.items() if not isinstance(k, int) or k >= 500),
        "failures": list(tally.failures.values()),
        "panics": panics,
        "panic_suspects": tally.panic_suspects,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_result("fuzz", result)
    print(f"fuzz: {result['inputs']} inputs, statuses {result['statuses']}, {len(panics)} panics",
          file=sys.stderr)
    for failure in result["failures"]:
        print(f"  {failure['status']} {failure['route']}: {failure['body'][:120]}\n    {failure['curl'][:400]}",
              file=sys.stderr)
    if result["server_errors"] or panics:
        sys.exit(1)


if __name__ == "__main__":
    main()
