// The security and system views as plain HTML: a category's events with
// status and risk, honest about alert rules not yet set up, the period's
// failed jobs and the server's own uptime; axe in light and dark.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { open, close, axeViolations, needsCli as skip, apiKey, sendEvents } from './support.mjs';

const ago = (m) => new Date(Date.now() - m * 60_000).toISOString();
const BOB = { kind: 'user', id: 'usr_bob_locked', name: 'Bob Locked' };
const BACKUP = { kind: 'system', id: 'sys_backup', name: 'Nightly backup' };
const SHOP = { kind: 'integration', id: 'int_shop', name: 'Shop sync' };

before(async () => {
  if (skip) return;
  await sendEvents(apiKey('Oversight test'), [
    { occurred_at: ago(3), actor: BOB, action: 'account.lockout', entity: { type: 'account', id: 'acct_bob' } },
    { occurred_at: ago(4), actor: BOB, action: 'user.login_failed', entity: { type: 'user', id: 'usr_bob_locked' } },
    { occurred_at: ago(5), actor: BACKUP, action: 'backup.run', entity: { type: 'database', id: 'db_main' }, metadata: { status: 'success' } },
    { occurred_at: ago(6), actor: BACKUP, action: 'reconcile.run', entity: { type: 'ledger', id: 'ledger_1' }, metadata: { status: 'failed' } },
    { occurred_at: ago(7), actor: SHOP, action: 'order.sync', entity: { type: 'order', id: 'so_1' }, metadata: { status: 'partial' } },
  ]);
});

/** The table's rows: cells' text, by the event cell's text. */
async function rows(page) {
  return page.locator('table.oversight-table tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
}

test('the security view lists security events with status and risk, and no invented alerts', { skip }, async () => {
  const page = await open('/o/acme/security?range=24h', { js: false });
  await page.getByRole('heading', { level: 1, name: 'Security events' }).waitFor();
  await page.getByRole('heading', { name: 'Security alerts active: 0' }).waitFor();
  const heads = await page.locator('table.oversight-table thead th').allTextContents();
  assert.deepEqual(heads, ['Time', 'Event', 'User', 'Status', 'Risk']);
  const all = await rows(page);
  const lockout = all.find((r) => r[1].startsWith('account.lockout'));
  assert.deepEqual(lockout.slice(2), ['Bob Locked', '⛔ Blocked', 'High']);
  const failed = all.find((r) => r[1].startsWith('user.login_failed') && r[2] === 'Bob Locked');
  assert.deepEqual(failed.slice(3), ['✗ Failed', 'Medium']);
  assert.ok(all.every((r) => r.length === 5), 'every row has a risk cell');
  // Every row is a security event: the timeline link says so.
  const timeline = await page.getByRole('link', { name: 'Open in the timeline' }).getAttribute('href');
  assert.equal(timeline, '/o/acme?category=security&within=24h');
  assert.equal(await page.locator('a[href="/o/acme/people/usr_bob_locked"]').first().textContent(), 'Bob Locked');
  if (all.length === 50) {
    const older = await page.getByRole('link', { name: 'Older events →' }).getAttribute('href');
    await close(page);
    const next = await open(older, { js: false });
    const more = await rows(next);
    assert.ok(more.length > 0 && JSON.stringify(more[0]) !== JSON.stringify(all[0]));
    await close(next);
  } else {
    assert.equal(await page.getByRole('link', { name: 'Older events →' }).count(), 0);
    await close(page);
  }
});

test('the system view shows jobs with their status, the failed share and the server uptime', { skip }, async () => {
  const page = await open('/o/acme/system?range=24h', { js: false });
  await page.getByRole('heading', { level: 1, name: 'System events' }).waitFor();
  const all = await rows(page);
  assert.deepEqual(all.find((r) => r[1].startsWith('backup.run')).slice(2), ['Nightly backup', '✓ Success']);
  assert.deepEqual(all.find((r) => r[1].startsWith('reconcile.run')).slice(2), ['Nightly backup', '✗ Failed']);
  assert.deepEqual(all.find((r) => r[1].startsWith('order.sync')).slice(2), ['Shop sync', '⚠ Warning']);
  const failed = await page.locator('[data-stat="failed-jobs"] dd').textContent();
  const [, n, total] = failed.match(/^([\d,]+) \([\d.]+%\)(?:of the latest|of) ([\d,]+) system events$/);
  assert.ok(Number(n) >= 1 && Number(total.replace(/,/g, '')) >= 3, failed);
  // The server wrote its first heartbeat when it started.
  assert.match(await page.locator('[data-stat="uptime"] dd').textContent(), /^\d{1,3}\.\d\d%/);
  assert.ok(await page.locator('[data-stat="response"] dd').count());
  await close(page);
  const bad = await open('/o/acme/system?range=1y', { js: false });
  await bad.getByRole('alert').getByText(/use 24h, 7d or 30d/).waitFor();
  await close(bad);
});

test('both views are axe-clean in light and dark and hydrate without errors', { skip }, async () => {
  for (const path of ['/o/acme/security', '/o/acme/system']) {
    for (const scheme of ['light', 'dark']) {
      const page = await open(path, { beforeLoad: (p) => p.emulateMedia({ colorScheme: scheme }) });
      await page.locator('table.oversight-table').waitFor();
      assert.deepEqual(await axeViolations(page), [], `${path} ${scheme}`);
      assert.deepEqual(page.errors, []);
      await close(page);
    }
  }
});
