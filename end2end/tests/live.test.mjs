// The live tail as a reader meets it: events sent through the ingestion API
// while the timeline is open raise a "N new events" pill (only those
// matching the page's filter, and only those that belong above what is
// loaded), nothing moves until the reader clicks, and the click merges each
// new event once, in its place. The stream and the read behind the pill
// refuse exactly whom page reads refuse.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, open, close, entries, account, sessionFor, ownerCookie, needsCli as skip, cli } from './support.mjs';

let secret;
before(() => {
  if (skip) return;
  const created = cli('api-key', 'create', '--org', 'acme', '--name', 'Live tail test');
  secret = created.match(/atl_[0-9A-Za-z]+/)?.[0];
  assert.ok(secret, created);
});

/** What an event of each verb carries, as the demo data does, so the
 *  events this file adds look like any other to the test files after it. */
const CHANGES = {
  create: { initial: { status: 'draft', total: 120 } },
  update: { diff: { status: { old: 'draft', new: 'sent' } } },
  delete: { snapshot: { status: 'void', total: 120 } },
};

/** Sends one event to Acme; its id. */
async function send({ action, type, id, name, at = new Date() }) {
  const res = await fetch(BASE + '/api/v1/events', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      occurred_at: at.toISOString(),
      actor: { kind: 'user', id: 'usr_live', name: 'Lena Live', email: 'lena.live@acme.example' },
      action,
      entity: { type, id, name },
      changes: CHANGES[action.split('.').at(-1)],
      context: { ip: '198.51.100.4', session_id: 'sess_live', country: 'DE', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0' },
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).ids[0];
}

const pill = (page) => page.getByRole('button', { name: /new events?$/ });
const slot = (page) => page.locator('.live-slot');
const seenSeq = async (page) => Number(await slot(page).getAttribute('data-live-seq'));

/** Waits until the page has read its org's log past `seq`. */
async function readPast(page, seq) {
  await page.waitForFunction(
    (s) => Number(document.querySelector('.live-slot')?.dataset.liveSeq) > s, seq, { timeout: 15_000 });
}

const firstRow = (page) => page.locator('ol[aria-label="Audit log"] > li.entry').first();

test('a new matching event raises the pill, moves nothing, and merges once at the top', { skip }, async () => {
  const page = await open('/o/acme?entity=invoice');
  const before = await entries(page);
  assert.ok(before.length >= 20, 'a page of invoice events');
  assert.ok(before.every((r) => r.entityType.toLowerCase().includes('invoice')));
  const box = await firstRow(page).boundingBox();
  const start = await seenSeq(page);
  assert.ok(start > 0, 'the page knows how far the log went when it was read');
  assert.equal(await pill(page).count(), 0);

  // Not matching the page's filter: read (the page moves past it), not counted.
  await send({ action: 'ticket.update', type: 'ticket', id: 'tkt_live', name: 'TKT-LIVE' });
  await readPast(page, start);
  // Matching, but older than the last loaded row: Load more brings it in its
  // place, the pill does not count it.
  const afterOther = await seenSeq(page);
  await send({ action: 'invoice.update', type: 'invoice', id: 'inv_old', name: 'INV-OLD', at: new Date('2020-01-01T00:00:00Z') });
  await readPast(page, afterOther);
  await page.waitForTimeout(300);
  assert.equal(await pill(page).count(), 0, 'neither raised the count');

  const name = `INV-LIVE-${Date.now()}`;
  const id = await send({ action: 'invoice.update', type: 'invoice', id: 'inv_live', name });
  await pill(page).waitFor({ timeout: 15_000 });
  // The arrow is decoration, hidden from assistive technology.
  assert.equal(await page.getByRole('button', { name: '1 new event', exact: true }).count(), 1);
  assert.equal(await slot(page).getAttribute('role'), 'status');

  // Nothing the reader was looking at moved, and nothing was added yet.
  assert.deepEqual(await firstRow(page).boundingBox(), box, 'the first row stayed where it was');
  assert.deepEqual((await entries(page)).map((r) => r.id), before.map((r) => r.id));

  await pill(page).click();
  await pill(page).waitFor({ state: 'detached' });
  const after = await entries(page);
  assert.equal(after[0].id, id, 'the new event is at the top');
  assert.equal(after[0].entityName, name);
  assert.equal(after.filter((r) => r.id === id).length, 1, 'exactly once');
  assert.deepEqual(after.slice(1).map((r) => r.id), before.map((r) => r.id), 'the rest in order');
  assert.ok(!after.some((r) => r.entityId === 'tkt_live' || r.entityId === 'inv_old'));

  // Later heads do not bring it back.
  const merged = await seenSeq(page);
  await send({ action: 'ticket.update', type: 'ticket', id: 'tkt_live', name: 'TKT-LIVE' });
  await readPast(page, merged);
  await page.waitForTimeout(300);
  assert.equal(await pill(page).count(), 0);
  assert.equal((await entries(page)).filter((r) => r.id === id).length, 1);
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('events sent while the stream cannot connect are offered once it does', { skip }, async () => {
  let refused = 0;
  const page = await open('/o/acme?entity=invoice', {
    beforeLoad: (p) => p.route('**/api/ui/live/**', (route) => { refused += 1; return route.abort(); }),
  });
  const start = await seenSeq(page);
  const first = await send({ action: 'invoice.create', type: 'invoice', id: 'inv_gap_1', name: 'INV-GAP-1' });
  const second = await send({ action: 'invoice.delete', type: 'invoice', id: 'inv_gap_2', name: 'INV-GAP-2' });
  await page.waitForTimeout(500);
  assert.ok(refused >= 1, 'the stream was tried and failed');
  assert.equal(await pill(page).count(), 0, 'nothing heard without the stream');
  await page.unroute('**/api/ui/live/**');
  // The browser (or the page, once the browser gives up) connects again;
  // the first message is the current head, and the page reads on from the
  // last seq it had seen.
  await readPast(page, start);
  await pill(page).waitFor({ timeout: 15_000 });
  assert.equal(await page.getByRole('button', { name: '2 new events', exact: true }).count(), 1);
  await pill(page).click();
  const rows = await entries(page);
  assert.deepEqual(rows.slice(0, 2).map((r) => r.id), [second, first], 'newest first');
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'no duplicates');
  assert.deepEqual(page.errors.filter((e) => !/live\/acme|ERR_FAILED/.test(e)), []);
  await close(page);
});

test('the live stream refuses whom page reads refuse', async () => {
  const live = (org, cookie, signal) => fetch(`${BASE}/api/ui/live/${org}`, {
    headers: cookie ? { cookie: `atl_session=${cookie}` } : {},
    signal,
  });
  assert.equal((await live('acme', null)).status, 401);
  const member = await sessionFor((await account('member')).email);
  const refused = await live('acme', member);
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /View Audit Log permission/);
  const owner = await ownerCookie();
  assert.equal((await live('no-such-org', owner)).status, 404);

  const abort = new AbortController();
  const res = await live('acme', owner, abort.signal);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body.getReader();
  const { value } = await reader.read();
  const text = new TextDecoder().decode(value);
  assert.match(text, /^event: head$/m);
  assert.match(text, /^data: \d+$/m);
  abort.abort();
});

test('the read behind the pill checks the role and its input', async () => {
  const call = async (cookie, afterSeq = '0') => fetch(BASE + '/api/ui/events-since', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie: `atl_session=${cookie}` } : {}) },
    body: `org=acme&filter[q]=&scope[q]=&after_seq=${afterSeq}`,
  });
  const owner = await ownerCookie();
  const ok = await call(owner, '1');
  assert.equal(ok.status, 200, await ok.clone().text());
  const body = await ok.json();
  assert.ok(Array.isArray(body.events) && body.head_seq > 1);
  assert.equal((await call(await sessionFor((await account('member')).email))).status, 403);
  assert.equal((await call(null)).status, 401);
  const bad = await call(owner, '-1');
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /after_seq/);
});
