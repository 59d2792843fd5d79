// The investigation filters as an admin uses them: query syntax that
// round-trips with the menus, chips and Clear, the matching count, ignored
// link parameters, date windows, a cold link with every filter set, and a
// record's history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, open, close, entries, waitForEntries, ownerCookie } from './support.mjs';

const ORG = '/o/acme';

/** The timeline's first page straight from the server function, as JSON. */
async function firstPage(filterQs = '') {
  const res = await fetch(BASE + '/api/ui/timeline', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `atl_session=${await ownerCookie()}` },
    body: `org=acme&filter[q]=&scope[q]=${filterQs}`,
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

const chips = (page) => page.getByRole('region', { name: 'Active filters' }).locator('li.chip > span').allTextContents();
const search = (page) => page.getByRole('searchbox', { name: 'Search' });

test('query syntax filters, writes the URL, and shows as chips and menu counts', async () => {
  const page = await open(ORG);
  await search(page).fill('action:delete,create entity:invoice');
  await page.waitForURL(/\?action=delete,create&entity=invoice$/);
  await waitForEntries(page, (r) => /^invoice\.(delete|create)$/.test(r.action), 'invoice creates and deletes');
  assert.deepEqual(await chips(page), ['Action: Delete', 'Action: Create', 'Entity: Invoice']);
  assert.match(await page.locator('summary', { hasText: 'Action type' }).textContent(), /· 2/);

  // A menu change shows up in the search box, in the same syntax.
  const menu = page.locator('details.multi', { has: page.locator('summary', { hasText: 'Action type' }) });
  await menu.locator('summary').click();
  await menu.getByRole('checkbox', { name: 'Create' }).uncheck();
  await page.waitForURL(/\?action=delete&entity=invoice$/);
  assert.equal(await search(page).inputValue(), 'action:delete entity:invoice');
  await waitForEntries(page, (r) => r.action === 'invoice.delete', 'invoice deletes');
  // Escape closes the menu and returns focus to its button.
  await page.keyboard.press('Escape');
  assert.equal(await menu.getAttribute('open'), null);
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'SUMMARY');
  // A click outside closes an open menu too.
  await menu.locator('summary').click();
  await page.locator('h1').click();
  assert.equal(await menu.getAttribute('open'), null);

  // Removing a chip drops that filter alone; Clear drops them all.
  await page.getByRole('button', { name: 'Remove filter Entity: Invoice' }).click();
  await page.waitForURL(/\?action=delete$/);
  const types = (rows) => new Set(rows.map((r) => r.entityType)).size;
  const deletes = await waitForEntries(page, (r) => r.action.endsWith('.delete'), 'deletes of several types',
    (rows) => types(rows) > 1);
  assert.ok(types(deletes) > 1, 'several types');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.waitForURL((url) => url.search === '');
  assert.equal(await search(page).inputValue(), '');
  assert.equal(await page.getByRole('region', { name: 'Active filters' }).count(), 0);
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('a malformed query explains itself inline and keeps the current view', async () => {
  const page = await open(ORG + '?action=delete');
  const before = await entries(page);
  await search(page).fill('action:delete after:2026-13-45');
  const problem = page.locator('#search-help');
  await problem.getByText("after: '2026-13-45' is not a date").waitFor();
  assert.equal(await search(page).getAttribute('aria-invalid'), 'true');
  assert.equal(new URL(page.url()).search, '?action=delete', 'the URL did not change');
  assert.deepEqual((await entries(page)).map((r) => r.id), before.map((r) => r.id));
  await search(page).fill('action:delete "unclosed');
  await problem.getByText('A quote is not closed').waitFor();
  await search(page).fill('action:delete');
  await page.waitForFunction(() => document.querySelector('#search-help').textContent === '');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('the count is exact below the cap and says 10,000+ above it', async () => {
  const page = await open(ORG);
  await page.getByText('10,000+ matching entries').waitFor();
  await close(page);

  // A small set: load every page and compare with the count.
  const small = await open(ORG + '?action=delete&entity=invoice');
  const count = small.locator('p.match-count');
  await count.getByText(/^\d+ matching entr(y|ies)$/).waitFor();
  const n = Number((await count.textContent()).match(/^(\d+)/)[1]);
  while (await small.getByRole('button', { name: 'Load more' }).count()) {
    const had = (await entries(small)).length;
    await small.getByRole('button', { name: 'Load more' }).click();
    await small.waitForFunction((had) => document.querySelectorAll('li.entry').length > had, had);
  }
  assert.equal((await entries(small)).length, n);
  await close(small);
});

test('unknown or malformed link parameters are ignored with a visible note', async () => {
  const path = ORG + '?colour=red&after=2026-13-45&action=delete';
  const html = await (await fetch(BASE + path, { headers: { cookie: `atl_session=${await ownerCookie()}` } })).text();
  assert.match(html, /were not used/, 'the note is rendered on the server');
  const page = await open(path);
  const note = page.getByRole('note');
  await note.getByText('colour=red').waitFor();
  await note.getByText('after=2026-13-45').waitFor();
  await waitForEntries(page, (r) => r.action.endsWith('.delete'), 'the usable filter still applies');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('date presets and an exact range in a named zone', async () => {
  const page = await open(ORG + '?within=24h');
  const since = Date.now() - 24 * 3600 * 1000 - 60_000;
  const times = await page.locator('li.entry time').evaluateAll((ts) => ts.map((t) => Date.parse(t.dateTime)));
  assert.ok(times.length > 0 && times.every((t) => t >= since), 'only the last 24 hours');
  assert.deepEqual(await chips(page), ['Last 24 hours']);
  await close(page);

  // The newest event's minute, as wall-clock time in Tokyo (UTC+9, no DST).
  const newest = new Date((await firstPage()).events[0].occurred_at);
  const tokyo = new Date(newest.getTime() + 9 * 3600 * 1000);
  const minute = tokyo.toISOString().slice(0, 16);
  const next = new Date(tokyo.getTime() + 60_000).toISOString().slice(0, 16);
  const ranged = await open(`${ORG}?after=${minute}&before=${next}&tz=Asia/Tokyo`);
  const start = Date.parse(minute + ':00Z') - 9 * 3600 * 1000;
  const got = await ranged.locator('li.entry time').evaluateAll((ts) => ts.map((t) => Date.parse(t.dateTime)));
  assert.ok(got.length > 0, 'the newest event is in its own minute');
  assert.ok(got.every((t) => t >= start && t < start + 60_000), 'inside the Tokyo minute');
  assert.deepEqual(await chips(ranged), [`From: ${minute} (Asia/Tokyo)`, `Until: ${next} (Asia/Tokyo)`]);
  await close(ranged);
});

test('a cold link with every filter set renders the same rows on the server and after hydration', async () => {
  // Build the link from a real event that has every field.
  const { events } = await firstPage();
  const e = events.find((x) => x.context?.ip && x.context?.session_id && x.context?.country && x.entity.name);
  assert.ok(e, 'a user event with ip, session and country');
  const verb = e.action.split('.').at(-1);
  const at = new Date(e.occurred_at);
  const iso = (d) => d.toISOString().slice(0, 16);
  const params = new URLSearchParams({
    q: e.entity.name.split(' ')[0],
    action: `${verb},${e.action}`,
    not_action: '*.nothing_like_this',
    entity: e.entity.type,
    actor: e.actor.id,
    record: e.entity.id,
    ip: e.context.ip,
    session: e.context.session_id,
    country: e.context.country,
    within: '30d',
    after: iso(new Date(at.getTime() - 60_000)),
    before: iso(new Date(at.getTime() + 120_000)),
  });
  const path = `${ORG}?${params}`;
  const html = await (await fetch(BASE + path, { headers: { cookie: `atl_session=${await ownerCookie()}` } })).text();
  const serverIds = [...html.matchAll(/data-event-id="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(serverIds.includes(e.id), 'the server rendered the event');
  assert.doesNotMatch(html, /were not used/);

  const page = await open(path);
  const rows = await entries(page);
  assert.deepEqual(rows.map((r) => r.id), serverIds, 'hydration shows the same rows');
  assert.equal((await chips(page)).length, 13);
  const text = await search(page).inputValue();
  for (const part of [`actor:${e.actor.id}`, `record:${e.entity.id}`, `country:${e.context.country}`, '-action:*.nothing_like_this', 'within:30d']) {
    assert.ok(text.includes(part), `${part} in "${text}"`);
  }
  assert.deepEqual(page.errors, []);
  await close(page);
});

test("a record's history is its own bookmarkable page, with the same filters", async () => {
  const { events } = await firstPage();
  const e = events.find((x) => x.action.endsWith('.update'));
  const path = `${ORG}/records/${e.entity.type}/${encodeURIComponent(e.entity.id)}`;
  const page = await open(path);
  await page.getByRole('heading', { name: new RegExp(`History of .* ${e.entity.id}`) }).waitFor();
  const rows = await entries(page);
  assert.ok(rows.length >= 1 && rows.every((r) => r.entityId === e.entity.id), 'only this record');
  assert.ok(rows.some((r) => r.id === e.id));
  // Filters narrow the history; the record itself cannot be widened away.
  await search(page).fill('action:update');
  await page.waitForURL(/records\/.*\?action=update$/);
  await waitForEntries(page, (r) => r.entityId === e.entity.id && r.action.endsWith('.update'), 'its updates');
  assert.deepEqual(page.errors, []);
  await close(page);
  const widened = await open(path + '?entity=invoice,task,client,project');
  assert.ok((await entries(widened)).every((r) => r.entityId === e.entity.id), 'other types do not widen it');
  await close(widened);
  const other = await open(path + '?record=someone-else');
  await other.getByText('No events match these filters.').waitFor();
  await close(other);
});

test("every row links to its record's history", async () => {
  const page = await open(ORG);
  const rows = page.locator('ol[aria-label="Audit log"] > li.entry');
  const count = await rows.count();
  assert.ok(count > 0);
  assert.equal(await page.locator('ol[aria-label="Audit log"] > li.entry > a.record-history').count(), count,
    'one history link per row');
  const row = rows.nth(1);
  const entityId = await row.getAttribute('data-entity-id');
  const link = row.getByRole('link', { name: /^History of / });
  await link.click();
  await page.waitForURL(new RegExp(`/records/[^/]+/${encodeURIComponent(entityId)}$`));
  await waitForEntries(page, (r) => r.entityId === entityId, 'that record only');
  assert.deepEqual(page.errors, []);
  await close(page);
});
