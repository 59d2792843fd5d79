// The permission matrix: every server function and every route a browser
// calls, asked by every kind of caller, answers what the one authorization
// boundary decides. A route added without going through it, or a copy of a
// rule that drifts, shows up here as a wrong status.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BASE, demoAccounts, account, sessionFor, ownerCookie } from './support.mjs';

const BIN = process.env.AUDIT_BIN;
const DATA_DIR = process.env.AUDIT_DATA_DIR;
const cli = (...args) => execFileSync(BIN, [...args, '--data-dir', DATA_DIR], {
  encoding: 'utf8',
  env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), RUST_LOG: 'warn', RUST_BACKTRACE: '0' },
});

const ORG = 'acme';
let eventId;
const callers = {};

before(async () => {
  for (const role of ['owner', 'admin', 'developer', 'member']) {
    callers[role] = { cookie: `atl_session=${await sessionFor((await account(role)).email)}`, org: ORG };
  }
  callers.signed_out = { cookie: '', org: ORG };
  // A member of another org asking about this one: told it does not exist.
  const stranger = (await demoAccounts()).find((a) => a.org !== 'Acme Corp' && a.role === 'owner');
  callers.other_org = { cookie: `atl_session=${await sessionFor(stranger.email)}`, org: ORG };
  if (BIN) {
    // An embedded viewer: a token scoped to invoices, named where the org goes.
    const key = cli('api-key', 'create', '--org', ORG, '--name', 'Permission matrix').match(/atl_[0-9A-Za-z]+/)[0];
    const res = await fetch(`${BASE}/api/v1/viewer-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ filter: 'entity=invoice', expires_in: 600 }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const { token } = await res.json();
    // As embed.js hands it over: posted to /embed, kept in a cookie, named
    // by its id in URLs.
    const exchange = await fetch(`${BASE}/embed`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    const cookie = exchange.headers.getSetCookie().find((c) => c.startsWith('atl_embed_')).split(';')[0];
    const id = exchange.headers.get('location').match(/view=([0-9a-f]{32})/)[1];
    callers.embed = { cookie, org: `embed.${id}` };
    callers.token_in_path = { cookie: '', org: token };
  }
  const page = await fn(callers.owner, 'timeline', { 'filter[entity]': 'invoice' });
  eventId = (await page.json()).events[0].id;
});

/** Calls server function `name` as `caller`. */
function fn(caller, name, args = {}) {
  return fetch(`${BASE}/api/ui/${name}`, {
    method: 'POST',
    headers: { cookie: caller.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ org: caller.org, ...args }),
  });
}

async function get(caller, path, { stream = false } = {}) {
  const controller = new AbortController();
  const res = await fetch(BASE + path, { headers: { cookie: caller.cookie }, signal: controller.signal });
  if (stream) controller.abort(); // the live stream never ends by itself
  else await res.arrayBuffer(); // a download holds its share until it is read
  return res.status;
}

// The status each caller gets from each call (null: not asked).
const OK = 200;
const MATRIX = {
  //                   owner admin developer member signed_out other_org embed token_in_path
  timeline:            [OK, OK, OK, 403, 401, 404, OK, OK],
  'events-since':      [OK, OK, OK, 403, 401, 404, 403, 403],
  count:               [OK, OK, OK, 403, 401, 404, OK, OK],
  actors:              [OK, OK, OK, 403, 401, 404, OK, OK],
  'record-neighbors':  [OK, OK, OK, 403, 401, 404, OK, OK],
  'entity-types':      [OK, OK, OK, 403, 401, 404, OK, OK],
  'chain-status':      [OK, OK, OK, 403, 401, 404, OK, OK],
  'verify-chain':      [OK, OK, 403, 403, 401, 404, 403, 403],
  viewer:              [OK, OK, OK, OK, 401, 404, OK, OK],
  // A token is never read from a URL path (proxies log paths).
  live:                [OK, OK, OK, 403, 401, 404, 403, 401],
  'export.csv':        [OK, OK, OK, 403, 401, 404, OK, 401],
  'export.ndjson':     [OK, OK, OK, 403, 401, 404, OK, 401],
};
const COLUMNS = ['owner', 'admin', 'developer', 'member', 'signed_out', 'other_org', 'embed', 'token_in_path'];

const ARGS = {
  timeline: () => ({ 'filter[q]': '', 'scope[q]': '' }),
  'events-since': () => ({ after_seq: '0' }),
  count: () => ({}),
  actors: () => ({ search: '' }),
  'record-neighbors': () => ({ id: eventId }),
  'entity-types': () => ({}),
  'chain-status': () => ({}),
  'verify-chain': () => ({}),
  viewer: () => ({}),
};

test('every server function and browser route answers each caller as the boundary decides', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const wrong = [];
  for (const [call, row] of Object.entries(MATRIX)) {
    for (const [i, expected] of row.entries()) {
      const who = COLUMNS[i];
      const caller = callers[who];
      let status;
      let body = '';
      if (call === 'live') status = await get(caller, `/api/ui/live/${encodeURIComponent(caller.org)}`, { stream: true });
      else if (call.startsWith('export.')) status = await get(caller, `/o/${caller.org}/${call}`);
      else {
        const res = await fn(caller, call, ARGS[call]());
        status = res.status;
        body = await res.text();
      }
      if (status !== expected) wrong.push(`${call} as ${who}: ${status}, expected ${expected} ${body.slice(0, 200)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("an embed's download holds its scope only", { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const { cookie, org } = callers.embed;
  const res = await fetch(`${BASE}/o/${org}/export.ndjson`, { headers: { cookie } });
  assert.equal(res.status, 200);
  const rows = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(rows.length > 0);
  assert.deepEqual([...new Set(rows.map((r) => r.entity.type))], ['invoice']);
  // Widening it from the URL only narrows: the scope still holds.
  const wider = await fetch(`${BASE}/o/${org}/export.ndjson?entity=client`, { headers: { cookie } });
  assert.equal((await wider.text()).trim(), '');
});

test('a refusal says why, the same way on every path', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const member = callers.member;
  const fromFn = await (await fn(member, 'count')).json();
  assert.match(JSON.stringify(fromFn), /View Audit Log permission/);
  const live = await fetch(`${BASE}/api/ui/live/${ORG}`, { headers: { cookie: member.cookie } });
  assert.match(await live.text(), /View Audit Log permission/);
  const download = await fetch(`${BASE}/o/${ORG}/export.csv`, { headers: { cookie: member.cookie } });
  assert.match(await download.text(), /View Audit Log permission/);
  // The owner's cookie still works after all of the above (nothing cached
  // across requests).
  assert.equal((await fn({ cookie: `atl_session=${await ownerCookie()}`, org: ORG }, 'count')).status, 200);
});
