// Export as an admin uses it: the Export menu of a filtered view downloads
// exactly the rows the timeline shows (every page loaded) and its count; a
// member without the View Audit Log permission is refused; the export is
// itself on the timeline as an audit_log.export entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BASE, open, close, entries, waitForEntries, account, sessionFor, ownerCookie } from './support.mjs';

const VIEW = '/o/acme?action=delete&entity=invoice';

/** RFC 4180: CRLF rows, quoted fields with doubled quotes; header row as keys. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; }
    else field += c;
  }
  assert.ok(!quoted && field === '' && row.length === 0, 'the file ends with a whole row');
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** Clicks Load more until the timeline has every matching entry. */
async function loadEverything(page) {
  while (await page.getByRole('button', { name: 'Load more' }).count()) {
    const had = (await entries(page)).length;
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.waitForFunction((had) => document.querySelectorAll('li.entry').length > had, had);
  }
  return entries(page);
}

test('the Export menu downloads exactly the filtered rows on screen, and their count', async () => {
  const page = await open(VIEW);
  await waitForEntries(page, (r) => r.action === 'invoice.delete', 'invoice deletes');
  const count = page.locator('p.match-count');
  await count.getByText(/^[\d,]+ matching entr(y|ies)$/).waitFor();
  const n = Number((await count.textContent()).match(/^([\d,]+)/)[1].replaceAll(',', ''));
  const shown = await loadEverything(page);
  assert.equal(shown.length, n, 'the count is what the timeline pages through');

  const menu = page.locator('details.export-menu');
  await menu.locator('summary', { hasText: 'Export' }).click();
  const csvLink = menu.getByRole('link', { name: 'CSV' });
  assert.equal(await csvLink.getAttribute('href'), '/o/acme/export.csv?action=delete&entity=invoice');
  const [download] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
  assert.match(download.suggestedFilename(), /^audit-log-acme-action-delete_entity-invoice-\d{8}T\d{6}Z\.csv$/);
  const rows = parseCsv(await readFile(await download.path(), 'utf8'));
  assert.equal(rows.length, n, 'as many rows as the count says');
  assert.deepEqual(rows.map((r) => r.id), shown.map((r) => r.id), 'the same events, in the same order');
  assert.ok(rows.every((r) => r.action === 'invoice.delete' && r.entity_type === 'invoice'));
  assert.deepEqual(rows.map((r) => r.entity_id), shown.map((r) => r.entityId));
  assert.ok(rows.every((r) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(r.occurred_at)), 'RFC 3339 UTC');

  // NDJSON from the same menu: one event object per line, same ids.
  if ((await menu.getAttribute('open')) === null) await menu.locator('summary').click();
  const [ndjson] = await Promise.all([page.waitForEvent('download'), menu.getByRole('link', { name: 'NDJSON' }).click()]);
  assert.match(ndjson.suggestedFilename(), /\.ndjson$/);
  const lines = (await readFile(await ndjson.path(), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((e) => e.id), shown.map((r) => r.id));
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('the menu follows the filter as it changes', async () => {
  const page = await open('/o/acme');
  const link = page.locator('details.export-menu').getByRole('link', { name: 'CSV', includeHidden: true });
  assert.equal(await link.getAttribute('href'), '/o/acme/export.csv');
  await page.getByRole('searchbox', { name: 'Search' }).fill('action:login_failed');
  await page.waitForURL(/\?action=login_failed$/);
  await page.waitForFunction(() =>
    document.querySelector('details.export-menu a')?.getAttribute('href') === '/o/acme/export.csv?action=login_failed');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('downloads are refused without the permission, a session, or membership', async () => {
  const member = await sessionFor((await account('member')).email);
  const refused = await fetch(BASE + '/o/acme/export.csv', { headers: { cookie: `atl_session=${member}` } });
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /View Audit Log permission/);

  const signedOut = await fetch(BASE + '/o/acme/export.csv', { redirect: 'manual' });
  assert.equal(signedOut.status, 401, 'a plain 401, not the login page saved as a file');

  const elsewhere = await fetch(BASE + '/o/no-such-org/export.ndjson', { headers: { cookie: `atl_session=${await ownerCookie()}` } });
  assert.equal(elsewhere.status, 404);
});

test('an export is itself on the timeline, with its filter and row count', async () => {
  const res = await fetch(BASE + '/o/acme/export.ndjson?action=login_failed', { headers: { cookie: `atl_session=${await ownerCookie()}` } });
  assert.equal(res.status, 200);
  const rows = (await res.text()).trim().split('\n').filter(Boolean).length;

  const page = await open('/o/acme?action=audit_log.export');
  const [latest] = await waitForEntries(page, (r) => r.action === 'audit_log.export', 'export entries');
  assert.equal(latest.entityName, 'Audit log');
  const owner = await account('owner');
  assert.equal(latest.actor, owner.name);

  // Its metadata, through the export itself.
  const own = await fetch(BASE + '/o/acme/export.ndjson?action=audit_log.export', { headers: { cookie: `atl_session=${await ownerCookie()}` } });
  const recorded = JSON.parse((await own.text()).split('\n')[0]);
  assert.equal(recorded.id, latest.id);
  assert.deepEqual(recorded.metadata, { filter: 'action=login_failed', format: 'ndjson', rows, complete: true });
  assert.equal(recorded.actor.kind, 'user');
  assert.equal(recorded.entity.type, 'audit_log');
  assert.deepEqual(page.errors, []);
  await close(page);
});
