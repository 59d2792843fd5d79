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
    callers.embed = { cookie: '', org: (await res.json()).token };
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

async function get(caller, path) {
  const controller = new AbortController();
  const res = await fetch(BASE + path, { headers: { cookie: caller.cookie }, signal: controller.signal });
  controller.abort(); // the live stream never ends by itself
  return res.status;
}

// The status each caller gets from each call (null: not asked).
const OK = 200;
const MATRIX = {
  //                    owner admin developer member signed_out other_org embed
  timeline:            [OK, OK, OK, 403, 401, 404, OK],
  'events-since':      [OK, OK, OK, 403, 401, 404, 403],
  count:               [OK, OK, OK, 403, 401, 404, OK],
  actors:              [OK, OK, OK, 403, 401, 404, OK],
  'record-neighbors':  [OK, OK, OK, 403, 401, 404, OK],
  'entity-types':      [OK, OK, OK, 403, 401, 404, OK],
  'chain-status':      [OK, OK, OK, 403, 401, 404, OK],
  'verify-chain':      [OK, OK, 403, 403, 401, 404, 403],
  viewer:              [OK, OK, OK, OK, 401, 404, OK],
  live:                [OK, OK, OK, 403, 401, 404, 403],
  'export.csv':        [OK, OK, OK, 403, 401, 404, null],
  'export.ndjson':     [OK, OK, OK, 403, 401, 404, null],
};
const COLUMNS = ['owner', 'admin', 'developer', 'member', 'signed_out', 'other_org', 'embed'];

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
      if (expected === null) continue; // an embed's downloads carry no org path
      const who = COLUMNS[i];
      const caller = callers[who];
      let status;
      let body = '';
      if (call === 'live') status = await get(caller, `/api/ui/live/${encodeURIComponent(caller.org)}`);
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
