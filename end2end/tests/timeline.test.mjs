// The timeline as a person uses it: cold links, live search, the entity
// menu, Load more, expanding entries, and the states in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, open, close, entries, waitForEntries, sleep, ownerCookie } from './support.mjs';

const ORG = '/o/acme';

test('a cold filtered link is rendered on the server, then hydrates without replacing rows', async () => {
  const path = ORG + '?q=delete&entity=invoice';
  // Without JavaScript: what the server sent is the whole page.
  const html = await (await fetch(BASE + path, { headers: { cookie: `atl_session=${await ownerCookie()}` } })).text();
  assert.match(html, /<ol[^>]*aria-label="Audit log"/);
  const actions = [...html.matchAll(/class="badge-text">([^<]*)</g)].map((m) => m[1]);
  assert.ok(actions.length > 0, 'server rendered entries');
  assert.ok(actions.every((a) => a === 'invoice.delete'), `only invoice deletes, got ${actions}`);

  const noJs = await open(path, { js: false });
  // The search box shows the whole filter in query syntax; chips list it.
  assert.equal(await noJs.getByRole('searchbox', { name: 'Search' }).inputValue(), 'entity:invoice delete');
  await noJs.getByRole('region', { name: 'Active filters' }).getByText('Entity: Invoice').waitFor();
  const serverRows = await entries(noJs);
  assert.equal(serverRows.length, actions.length);
  await close(noJs);

  // With JavaScript: count entries removed from the DOM while hydrating; a
  // flash (re-render of the list) would remove them.
  const page = await open(path, {
    beforeLoad: (p) => p.addInitScript(() => {
      window.__removedEntries = 0;
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.removedNodes) {
          if (n.nodeType === 1 && (n.matches?.('li.entry') || n.querySelector?.('li.entry'))) window.__removedEntries++;
        }
      }).observe(document, { childList: true, subtree: true });
    }),
  });
  const hydratedRows = await entries(page);
  assert.deepEqual(hydratedRows.map((r) => r.id), serverRows.map((r) => r.id));
  assert.equal(await page.evaluate(() => window.__removedEntries), 0, 'hydration kept the server rows');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('typing filters live, keeps the URL in step with replace, and ignores stale responses', async () => {
  const page = await open(ORG, {
    beforeLoad: (p) => p.route('**/api/ui/timeline', async (route) => {
      // The response for the partial term "inv" is made slow, so it arrives
      // after the one for the full term; it must not win.
      const body = decodeURIComponent(route.request().postData() ?? '');
      if (/\[q\]=inv(&|$)/.test(body)) await sleep(1500);
      await route.continue();
    }),
  });
  const historyBefore = await page.evaluate(() => history.length);
  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.pressSequentially('inv', { delay: 30 });
  await sleep(400); // the debounced search for "inv" goes out (slow)
  await search.pressSequentially('oice.revoke', { delay: 30 });
  await page.waitForURL(/[?&]q=invoice\.revoke/);
  await sleep(1800); // the slow "inv" response has arrived by now
  const rows = await entries(page);
  assert.ok(rows.length > 0 || (await page.getByText('No events match').count()) > 0);
  assert.ok(rows.every((r) => r.action.includes('invoice.revoke')), `stale rows shown: ${rows.slice(0, 3).map((r) => r.action)}`);
  assert.equal(await search.inputValue(), 'invoice.revoke');
  assert.equal(await page.evaluate(() => history.length), historyBefore, 'typing replaces, not pushes');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('live search narrows by actor and entity name, case-insensitively', async () => {
  const page = await open(ORG);
  const first = (await entries(page))[0];
  const actorWord = first.actor.split(' ').at(-1);
  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.fill(actorWord.toUpperCase());
  const rows = await waitForEntries(page, (r) =>
    (r.actor + ' ' + r.action + ' ' + r.entityName).toLowerCase().includes(actorWord.toLowerCase()), 'actor search');
  assert.ok(rows.length > 0);
  await search.fill('zzqxq-no-such-thing');
  await page.getByText('No events match these filters.').waitFor();
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('the entity type menu filters, and Back and Forward restore the filters', async () => {
  const page = await open(ORG);
  const menu = page.locator('details.multi', { has: page.locator('summary', { hasText: 'Entity type' }) });
  await menu.locator('summary').click();
  await menu.getByRole('checkbox', { name: 'Invoice' }).check();
  await page.waitForURL(/entity=invoice$/);
  await waitForEntries(page, (r) => r.entityType === 'Invoice', 'invoices only');
  await menu.getByRole('checkbox', { name: 'Task' }).check();
  await page.waitForURL(/entity=invoice,task$/);
  await waitForEntries(page, (r) => ['Invoice', 'Task'].includes(r.entityType), 'invoices and tasks');
  await menu.getByRole('checkbox', { name: 'Invoice' }).uncheck();
  await page.waitForURL(/entity=task$/);
  await waitForEntries(page, (r) => r.entityType === 'Task', 'tasks only');

  await page.goBack();
  await page.waitForURL(/entity=invoice,task$/);
  await waitForEntries(page, (r) => ['Invoice', 'Task'].includes(r.entityType), 'both after Back');
  assert.equal(await menu.getByRole('checkbox', { name: 'Invoice' }).isChecked(), true);
  assert.equal(await page.getByRole('searchbox', { name: 'Search' }).inputValue(), 'entity:invoice,task');
  await page.goForward();
  await page.waitForURL(/entity=task$/);
  await waitForEntries(page, (r) => r.entityType === 'Task', 'tasks after Forward');
  assert.equal(await menu.getByRole('checkbox', { name: 'Invoice' }).isChecked(), false);
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('Load more appends the next 50 entries, in order, without duplicates', async () => {
  const page = await open(ORG);
  const firstPage = await entries(page);
  assert.equal(firstPage.length, 50);
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.waitForFunction(() => document.querySelectorAll('ol[aria-label="Audit log"] > li.entry').length === 100);
  const both = await entries(page);
  assert.deepEqual(both.slice(0, 50).map((r) => r.id), firstPage.map((r) => r.id), 'first page untouched');
  assert.equal(new Set(both.map((r) => r.id)).size, 100, 'no duplicates');
  // UUIDv7 ids and times both descend: the appended page continues the order.
  const times = await page.locator('li.entry time').evaluateAll((ts) => ts.map((t) => Date.parse(t.dateTime)));
  assert.ok(times.every((t, i) => i === 0 || t <= times[i - 1]), 'newest first across pages');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('an update expands inline to a field diff, old on red and new on green', async () => {
  const page = await open(ORG + '?q=.update&entity=invoice');
  const row = page.locator('li.entry').first();
  const toggle = row.getByRole('button').first();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  const changes = row.getByRole('region', { name: 'Changes' });
  await changes.waitFor();
  const leaves = await changes.locator('li.change-leaf').evaluateAll((lis) => lis.map((li) => ({
    field: li.querySelector('.change-field').textContent,
    kind: li.querySelector('.change-kind').textContent,
    oldBg: li.querySelector('del.old') && getComputedStyle(li.querySelector('del.old')).backgroundColor,
    newBg: li.querySelector('ins.new') && getComputedStyle(li.querySelector('ins.new')).backgroundColor,
  })));
  assert.ok(leaves.length > 0, 'the diff lists changed fields');
  for (const l of leaves) assert.ok(['Added', 'Updated', 'Removed'].includes(l.kind), `kind of ${l.field}: ${l.kind}`);
  const rgb = (s) => s.match(/\d+/g).map(Number);
  const updated = leaves.filter((l) => l.oldBg && l.newBg);
  assert.ok(updated.length > 0, 'an update shows a before and an after value');
  for (const c of updated) {
    const [or, og] = rgb(c.oldBg); const [nr, ng] = rgb(c.newBg);
    assert.ok(or > og, `old value of ${c.field} is on red (${c.oldBg})`);
    assert.ok(ng > nr, `new value of ${c.field} is on green (${c.newBg})`);
  }
  assert.equal(await row.getByRole('region', { name: 'Snapshot' }).count(), 0);
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.equal(await row.getByRole('region', { name: 'Changes' }).count(), 0);
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('a delete expands to the final snapshot, and the deleted record is struck through everywhere', async () => {
  const page = await open(ORG + '?q=.delete');
  const row = page.locator('li.entry').first();
  await row.getByRole('button').first().click();
  const snapshot = row.getByRole('region', { name: 'Snapshot' });
  await snapshot.waitFor();
  assert.ok((await snapshot.locator('tbody tr').count()) > 0, 'snapshot lists field values');

  const name = row.locator('del.entity-name');
  assert.equal(await name.count(), 1, 'deleted record name is in <del>');
  const decoration = await name.evaluate((el) => getComputedStyle(el).textDecorationLine);
  assert.match(decoration, /line-through/);
  assert.match(await row.locator('.visually-hidden').last().textContent(), /deleted/);

  // Its earlier entries are struck through as well: the record filter lists
  // them (ids can repeat across types, so compare type and id). Some deleted
  // records were created before the log began; take the first that has
  // earlier entries.
  const deletes = await entries(page);
  let ofRecord = [];
  for (const d of deletes.slice(0, 15)) {
    await page.goto(`${BASE}${ORG}?record=${encodeURIComponent(d.entityId)}`);
    const rows = await waitForEntries(page, (r) => r.entityId === d.entityId, 'that record');
    ofRecord = rows.filter((r) => r.entityType === d.entityType);
    if (ofRecord.length >= 2) break;
  }
  assert.ok(ofRecord.length >= 2, 'a deleted record with earlier entries');
  assert.ok(ofRecord.every((r) => r.deleted), 'every entry of the deleted record is struck through');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('badges are coloured by verb and say the action in words', async () => {
  const page = await open(ORG);
  const tones = await page.locator('li.entry .badge').evaluateAll((bs) => bs.map((b) => ({
    action: b.querySelector('.badge-text').textContent,
    cls: b.className,
  })));
  const verb = (a) => a.split('.').at(-1);
  for (const { action, cls } of tones) {
    const expected = { create: 'tone-create', update: 'tone-update', assign: 'tone-update', share: 'tone-update',
      delete: 'tone-delete', revoke: 'tone-delete', cancel: 'tone-delete' }[verb(action)] ?? 'tone-neutral';
    assert.ok(cls.includes(expected), `${action} has ${cls}`);
  }
  await close(page);
});

test('a bad cursor is a 400 that names the field, not a 500', async () => {
  const res = await fetch(BASE + '/api/ui/timeline', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `atl_session=${await ownerCookie()}` },
    body: 'org=acme&filter[q]=&scope[q]=&cursor=not-a-cursor',
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /cursor/);
});

test('a short result ends with an end-of-log note instead of Load more', async () => {
  // One record's history: a handful of entries.
  const probe = await open(ORG + '?entity=invoice');
  const name = (await entries(probe))[0].entityName;
  await close(probe);
  const page = await open(ORG + '?q=' + encodeURIComponent(name) + '&entity=invoice');
  const rows = await entries(page);
  assert.ok(rows.length > 0 && rows.length < 50, `a short result (${rows.length})`);
  await page.getByText('You have reached the beginning of the log.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
  await close(page);
});

test('a failed load says so and offers a retry that recovers', async () => {
  let failing = true;
  const page = await open(ORG, {
    beforeLoad: (p) => p.route('**/api/ui/timeline', async (route) => {
      if (!failing) return route.continue();
      await route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify('Unavailable'),
        headers: { 'serverfnerror': '/api/ui/timeline' },
      });
    }),
  });
  await page.getByRole('searchbox', { name: 'Search' }).fill('invoice');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /could not be loaded: the audit store is unavailable/);
  failing = false;
  await alert.getByRole('button', { name: 'Try again' }).click();
  await waitForEntries(page, () => true, 'rows again');
  assert.equal(await page.getByRole('alert').count(), 0);
  await close(page);
});

test('a search term under 3 characters is tested a bounded stretch at a time, and Load more goes on', async () => {
  // Two letters the demo data never holds: the trigram index cannot help,
  // so the newest stretch is tested and the page says so.
  const page = await open(ORG + '?q=zq');
  await page.getByText('Search terms shorter than 3 characters are tested 20,000 events at a time').waitFor();
  assert.equal((await entries(page)).length, 0);
  await page.getByText('No matching entries among the newest events searched').waitFor();
  const more = page.getByRole('button', { name: 'Load more' });
  await more.click();
  // Each click tests the next stretch, until the beginning of the log.
  for (let i = 0; i < 5; i++) {
    if (await page.getByText('You have reached the beginning of the log.').count()) break;
    if (await more.count()) await more.click();
    await sleep(300);
  }
  await page.getByText('You have reached the beginning of the log.').waitFor();
  assert.equal((await entries(page)).length, 0);
  assert.deepEqual(page.errors, []);
  await close(page);
});
