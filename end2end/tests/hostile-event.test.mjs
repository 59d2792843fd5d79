// The largest and deepest event the limits allow, full of unicode edge
// cases, goes through everything a reader does with an event: it arrives
// through the live pill, shows and expands in the timeline, renders and
// hydrates on a fresh page, exports as CSV and NDJSON, and the chain still
// verifies. One byte-heavy string more and the API refuses it with a 413.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, open, close, entries, ownerCookie, needsCli as skip, cli } from './support.mjs';

// The documented limits (README, "Send your first event").
const MAX_DEPTH = 32;
const MAX_STRING_BYTES = 8 * 1024;
const MAX_EVENT_BYTES = 64 * 1024;

const UNICODE = {
  combining: 'e\u0301\u0302\u0303 Z\u0351\u0360\u035c\u0489a\u0308\u0308\u0308',
  rtl: 'مرحبا بالعالم — שלום עולם (RTL) 123',
  bidi_override: 'abc\u202edcba\u202c \u2066isolated\u2069',
  emoji: '👩‍👩‍👧‍👦 🏳️‍🌈 🇺🇳 👍🏽 🧑🏿‍🚀',
  controls: 'bell\u0007 escape\u001b[31m del\u007f zero\u200bwidth bom\ufeff tab\tline\nreturn\r',
  astral: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱𠝹',
};

/** `n` bytes of prose (a base64-looking run would be stored as binary). */
function prose(n) {
  const words = 'lorem ipsum dolor sit amet ';
  return words.repeat(Math.ceil(n / words.length)).slice(0, n);
}

/** Objects nested `levels` deep, the outermost being level 1. */
function nested(levels, leaf) {
  let v = leaf;
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}

/** A diff whose deepest object sits exactly at the depth limit: the
 *  changes document is level 1, each tree and each node one more. */
function deepDiff() {
  // Nodes at odd levels 3..31; the leaf node's `new` object at 32.
  let node = { old: 'before', new: { value: UNICODE.emoji } };
  for (let level = 29; level >= 3; level -= 2) node = { fields: { [`level_${level}`]: node } };
  const added = Object.fromEntries(Object.entries(UNICODE).map(([k, v]) => [k, { new: v }]));
  return { diff: { status: { old: 'draft', new: 'sent' }, ...added, nested: node } };
}

/** The event; `fillers` strings of the longest allowed length in its
 *  metadata (which the page carries but does not show), then, with `top`,
 *  one more string that brings it to just under the 64 KiB limit. */
function hostileEvent(name, fillers, top = false) {
  const metadata = { ...UNICODE, deep: nested(MAX_DEPTH - 1, { leaf: UNICODE.rtl }) };
  for (let i = 0; i < fillers; i++) metadata[`text_${i}`] = prose(MAX_STRING_BYTES);
  const event = {
    occurred_at: new Date().toISOString(),
    actor: { kind: 'user', id: 'usr_hostile', name: `Zoë ${UNICODE.rtl.slice(0, 5)} 🚀`, email: 'zoe@acme.example' },
    action: 'invoice.update',
    entity: { type: 'invoice', id: 'inv_hostile', name },
    changes: deepDiff(),
    context: { ip: '198.51.100.7', session_id: 'sess_hostile', user_agent: `Mozilla/5.0 ${UNICODE.combining}` },
    metadata,
  };
  if (top) {
    // The server counts the stored form, which adds ids (~100 bytes).
    const room = MAX_EVENT_BYTES - 512 - Buffer.byteLength(JSON.stringify(event)) - 20;
    metadata.text_last = prose(Math.min(room, MAX_STRING_BYTES));
  }
  return event;
}

let secret;
before(() => {
  if (skip) return;
  const created = cli('api-key', 'create', '--org', 'acme', '--name', 'Hostile event test');
  secret = created.match(/atl_[0-9A-Za-z]+/)?.[0];
  assert.ok(secret, created);
});

const post = (body) => fetch(BASE + '/api/v1/events', {
  method: 'POST',
  headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const pill = (page) => page.getByRole('button', { name: /new events?$/ });

test('the largest, deepest allowed event is live-tailed, shown, expanded, exported and verified', { skip }, async () => {
  const name = `INV-HOSTILE-${Date.now()}`;
  // One 8 KiB string more than fits: refused whole, naming the event.
  const over = await post({ events: [hostileEvent(name, 8)] });
  assert.equal(over.status, 413, await over.clone().text());
  assert.equal((await over.json()).error.field, 'events[0]');
  // Deeper than the limit: a 422 naming the path.
  const deeper = hostileEvent(name, 0);
  deeper.metadata.deep = nested(MAX_DEPTH + 1, {});
  const refused = await post(deeper);
  assert.equal(refused.status, 422);
  assert.match((await refused.json()).error.message, /^metadata\.deep(\.a){31}: nested deeper than 32 levels$/);

  const event = hostileEvent(name, 7, true);
  const bytes = Buffer.byteLength(JSON.stringify(event));
  assert.ok(bytes > 63 * 1024 && bytes < MAX_EVENT_BYTES, `${bytes} bytes, just under the 64 KiB limit`);

  // Open the timeline first: the event arrives through the live tail.
  const page = await open('/o/acme?entity=invoice');
  const res = await post(event);
  assert.equal(res.status, 201, await res.clone().text());
  const [id] = (await res.json()).ids;
  await pill(page).waitFor({ timeout: 15_000 });
  await pill(page).click();
  await pill(page).waitFor({ state: 'detached' });
  const rows = await entries(page);
  assert.equal(rows[0].id, id, 'the live event is at the top');
  assert.equal(rows[0].entityName, name);
  const li = page.locator(`li.entry[data-event-id="${id}"]`);
  await li.locator('button.entry-summary').click();
  const changes = li.getByRole('region', { name: 'Changes' });
  await changes.waitFor();
  assert.ok((await changes.locator('li.change-branch').count()) > 0, 'the nested diff is listed');
  const shown = await li.textContent();
  for (const key of ['combining', 'rtl', 'bidi_override', 'emoji', 'astral']) {
    assert.ok(shown.includes(UNICODE[key]), `${key} shown as sent`);
  }
  assert.deepEqual(page.errors, []);
  await close(page);

  // A fresh page carrying it renders on the server and hydrates.
  const fresh = await open('/o/acme?q=' + encodeURIComponent(name));
  const found = await entries(fresh);
  assert.deepEqual(found.map((r) => r.id), [id]);
  await fresh.locator('li.entry button.entry-summary').first().click();
  await fresh.getByRole('region', { name: 'Changes' }).waitFor();
  assert.deepEqual(fresh.errors, []);
  await close(fresh);

  // Exports: NDJSON keeps every character and the whole depth; CSV holds it.
  const cookie = { cookie: `atl_session=${await ownerCookie()}` };
  const nd = await fetch(`${BASE}/o/acme/export.ndjson?q=${encodeURIComponent(name)}`, { headers: cookie });
  assert.equal(nd.status, 200);
  const lines = (await nd.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  const exported = JSON.stringify(lines[0]);
  for (const value of Object.values(UNICODE)) assert.ok(exported.includes(JSON.stringify(value).slice(1, -1)), value);
  assert.ok(exported.includes(JSON.stringify(nested(MAX_DEPTH - 1, { leaf: UNICODE.rtl }))), 'the deepest value whole');
  const csv = await fetch(`${BASE}/o/acme/export.csv?q=${encodeURIComponent(name)}`, { headers: cookie });
  assert.equal(csv.status, 200);
  const text = await csv.text();
  assert.ok(text.includes(name) && text.includes(UNICODE.rtl) && text.includes(UNICODE.emoji));

  const out = cli('verify', '--org', 'acme');
  assert.match(out, /Acme Corp \(acme\): verified through seq \d+/);
});

test('extreme dates and zones in a filter are a 400 naming the key, never a 5xx', async () => {
  const cookie = `atl_session=${await ownerCookie()}`;
  // The timeline's server function, called as a client may call it.
  const page = (filter) => fetch(`${BASE}/api/ui/timeline`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ org: 'acme', ...Object.fromEntries(Object.entries(filter).map(([k, v]) => [`filter[${k}]`, v])) }),
  });
  const ok = await page({});
  assert.equal(ok.status, 200, await ok.text());
  for (const [filter, field] of [
    [{ after: '+99999-01-01T00:00:00' }, 'after'],
    [{ before: '-0001-01-01T00:00:00' }, 'before'],
    [{ after: '2026-01-01T00:00:00', tz: 'Mars/Olympus_Mons' }, 'tz'],
    [{ after: '2026-01-01T00:00:00', tz: '../../'.repeat(500) }, 'tz'],
  ]) {
    const res = await page(filter);
    const text = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(filter)}: ${res.status} ${text}`);
    assert.ok(text.includes(field), `${JSON.stringify(filter)} names ${field}: ${text}`);
  }
  const huge = await page({ within: 'Century' });
  assert.ok(huge.status >= 400 && huge.status < 500, `within: ${huge.status}`);
  const cursor = await fetch(`${BASE}/api/ui/timeline`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ org: 'acme', cursor: `v1.${(2n ** 62n).toString(16)}.00000000000000000000000000000000` }),
  });
  assert.equal(cursor.status, 400, await cursor.text());

  // The export API and the UI's export links read the URL's form.
  for (const query of ['after=99999-01-01', 'before=-1', 'within=100000d', 'after=2026-01-01&tz=Nowhere/Land']) {
    const res = await fetch(`${BASE}/o/acme/export.ndjson?${query}`, { headers: { cookie } });
    assert.ok(res.status === 400 || res.status === 200, `${query}: ${res.status}`);
    await res.arrayBuffer(); // a download holds its share until it is read
    if (!secret) continue;
    const api = await fetch(`${BASE}/api/v1/events/export?${query}`, { headers: { authorization: `Bearer ${secret}` } });
    const body = await api.text();
    assert.equal(api.status, 400, `${query}: ${body}`);
    assert.ok(body.includes(query.split('&').at(-1).split('=')[0]), `${query} names its key: ${body}`);
  }
});
