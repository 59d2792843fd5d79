// A person's page and what leads to it: a person with a known history is
// sent through the ingestion API, then their page (plain HTML, no wasm)
// must show exactly those counts, each linking to the timeline showing as
// many events; an expanded entry names its result, its type and risk, its
// estimated location, its related events, exports itself and links the
// actor to their page; axe in light and dark.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, open, close, axeViolations, needsCli as skip, apiKey, sendEvents, timelineCount } from './support.mjs';

const PIA = { kind: 'user', id: 'usr_pia_person', name: 'Pia Person', email: 'pia.person@acme.example' };
const PERSON = '/o/acme/people/usr_pia_person';
const minutesAgo = (m, s = 0) => new Date(Date.now() - m * 60_000 + s * 1000).toISOString();

/** Pia's history: two sessions (90 and 30 minutes), a failed sign-in, a
 *  password change, record changes in two modules, a view, an export and
 *  a report; the invoice update set off an approval and a notification. */
const HISTORY = [
  ['session.login', 'session', 's1', minutesAgo(200), { session_id: 'pia_s1' }],
  ['invoice.update', 'invoice', 'inv_p1', minutesAgo(190), { session_id: 'pia_s1', request_id: 'pia_req', ip: '81.2.69.142' }, { result: 'success' }],
  ['approval.create', 'approval', 'apr_p1', minutesAgo(190, 1), { request_id: 'pia_req' }],
  ['notification.send', 'notification', 'ntf_p1', minutesAgo(190, 2), { session_id: 'pia_s1' }],
  ['invoice.delete', 'invoice', 'inv_p2', minutesAgo(150), { session_id: 'pia_s1' }],
  ['customer.create', 'customer', 'cus_p1', minutesAgo(140), { session_id: 'pia_s1' }],
  ['customer.view', 'customer', 'cus_p1', minutesAgo(135), { session_id: 'pia_s1' }],
  ['session.logout', 'session', 's1', minutesAgo(110), { session_id: 'pia_s1' }],
  ['session.login_failed', 'session', 's2', minutesAgo(100), {}],
  ['session.login', 'session', 's2', minutesAgo(90), { session_id: 'pia_s2' }],
  ['customer.export', 'customer', 'cus_all', minutesAgo(80), { session_id: 'pia_s2' }, { rows: 20 }],
  ['report.create', 'report', 'rep_p1', minutesAgo(70), { session_id: 'pia_s2' }],
  ['password.update', 'password', 'pw', minutesAgo(65), { session_id: 'pia_s2' }],
  ['session.logout', 'session', 's2', minutesAgo(60), { session_id: 'pia_s2' }],
];

before(async () => {
  if (skip) return;
  await sendEvents(apiKey('People page test'), HISTORY.map(([action, type, id, at, context, metadata]) => ({
    occurred_at: at, actor: PIA, action, entity: { type, id, name: id.toUpperCase() },
    context: { ip: '198.51.100.23', ...context }, ...(metadata ? { metadata } : {}),
  })));
});

/** The stat tiles of a section: label -> { n, href }. */
async function tiles(page, section) {
  const out = {};
  for (const tile of await page.locator(`section[aria-labelledby="${section}"] .stat`).all()) {
    const label = (await tile.locator('dt').textContent()).trim();
    const link = tile.locator('dd a');
    if (await link.count()) {
      out[label] = { n: Number((await link.textContent()).replace(/,/g, '')), href: await link.getAttribute('href') };
    } else {
      out[label] = { text: (await tile.locator('dd').textContent()).trim() };
    }
  }
  return out;
}

test("a person's page counts exactly their history, in plain HTML", { skip }, async () => {
  const page = await open(PERSON, { js: false });
  await page.getByRole('heading', { level: 1, name: 'Pia Person' }).waitFor();
  assert.match(await page.locator('.person-facts').textContent(), /pia\.person@acme\.example/);
  const summary = await tiles(page, 'summary');
  const counts = Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, v.n]));
  assert.deepEqual(counts, {
    'Total actions': HISTORY.length,
    // The timeline's own meaning of `update`: the password's update too.
    'Records modified': 3,
    // The customer, the approval and the report.
    'Records created': 3,
    'Records viewed': 1,
    'Reports generated': 1,
    Exports: 1,
  });
  const sessions = await tiles(page, 'sessions');
  assert.equal(sessions['Sign-ins'].n, 2);
  assert.equal(sessions['Failed sign-ins'].n, 1);
  assert.equal(sessions['Password changes'].n, 1);
  // (90 + 30) / 2 minutes.
  assert.match(sessions['Average session'].text, /^1 h\s*over 2 sessions/);
  const modules = await page.locator('ul.modules li').evaluateAll((lis) =>
    lis.map((li) => [li.querySelector('.cat-label').textContent, li.querySelector('.cat-count').textContent]));
  assert.deepEqual(modules.slice(0, 2), [['Session', '5 actions'], ['Customer', '3 actions']]);
  assert.equal(await page.locator('table.recent tbody tr').count(), 10);
  assert.match(await page.locator('table.recent tbody tr').first().textContent(), /Logout/i);
  await close(page);

  // Every number opens the timeline on exactly that many events.
  const links = [...Object.values(summary), sessions['Sign-ins'], sessions['Failed sign-ins']];
  for (const l of links) assert.equal(await timelineCount(l.href), l.n, l.href);
});

test('the period links reload the page for their days; a stranger is a clear error', { skip }, async () => {
  let page = await open(PERSON + '?days=7', { js: false });
  const current = page.locator('nav[aria-label="Period"] a[aria-current="page"]');
  assert.equal(await current.textContent(), '7 days');
  assert.equal(await page.locator('nav[aria-label="Period"] a').count(), 4);
  await close(page);
  page = await open('/o/acme/people/nobody_at_all', { js: false });
  await page.getByRole('alert').getByText(/No event in this log was done by 'nobody_at_all'/).waitFor();
  await close(page);
  page = await open(PERSON + '?days=8', { js: false });
  await page.getByRole('alert').getByText(/use 7, 30, 90 or 365/).waitFor();
  await close(page);
});

test('an expanded entry shows its result, type, related events and links its actor', { skip }, async () => {
  const page = await open('/o/acme?actor=usr_pia_person&action=invoice.update');
  const row = page.locator('ol[aria-label="Audit log"] > li.entry').first();
  await row.locator('button.entry-summary').click();
  const detail = row.locator('.entry-detail');
  assert.equal((await detail.locator('[data-fact="result"] dd').textContent()).trim(), '✓ Success');
  assert.equal((await detail.locator('[data-fact="kind"] dd').textContent()).trim(), 'Record changes · Low risk');
  const related = detail.locator('.related li');
  await related.first().waitFor();
  assert.deepEqual(
    (await related.allTextContents()).map((t) => t.split(' by ')[0]),
    ['approval.create · Approval APR_P1', 'notification.send · Notification NTF_P1'],
  );
  assert.equal(await related.first().locator('a').getAttribute('href'), '/o/acme/records/approval/apr_p1');
  // No country from the sender: estimated from the address, and said so.
  assert.equal((await detail.locator('[data-fact="location"] dd').textContent()).trim(), 'United Kingdom (GB), estimated');
  assert.equal(await detail.locator('[data-fact="country"]').count(), 0);
  // Export entry: this one event as JSON and CSV, each recorded as an export.
  const id = await row.getAttribute('data-event-id');
  const exports = detail.locator('.entry-export a');
  assert.deepEqual(await exports.allTextContents(), ['JSON', 'CSV']);
  const json = await page.context().request.get(BASE + (await exports.nth(0).getAttribute('href')));
  assert.equal(json.status(), 200);
  assert.match(json.headers()['content-disposition'], new RegExp(`audit-log-acme-event-${id}\\.json`));
  const parsed = await json.json();
  assert.deepEqual(parsed.map((e) => [e.id, e.action, e.metadata]), [[id, 'invoice.update', { result: 'success' }]]);
  const csv = await (await page.context().request.get(BASE + (await exports.nth(1).getAttribute('href')))).text();
  assert.equal(csv.trim().split('\r\n').length, 2, csv);
  assert.ok(csv.includes(id));
  const bad = await page.context().request.get(BASE + '/o/acme/export.json?event=not-an-id');
  assert.equal(bad.status(), 400);
  assert.match(await bad.text(), /^event: /);
  const log = await page.context().request.get(BASE + '/o/acme/export.json?action=audit_log.export');
  const recorded = (await log.json()).filter((e) => e.metadata.filter === `event=${id}`);
  assert.deepEqual(recorded.map((e) => e.metadata.format).sort(), ['csv', 'json']);

  const actor = detail.locator('[data-fact="actor"] a');
  assert.equal(await actor.getAttribute('href'), PERSON);
  await actor.click();
  await page.getByRole('heading', { level: 1, name: 'Pia Person' }).waitFor();
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('the person page is axe-clean in light and dark', { skip }, async () => {
  for (const scheme of ['light', 'dark']) {
    const page = await open(PERSON, { beforeLoad: (p) => p.emulateMedia({ colorScheme: scheme }) });
    await page.getByRole('heading', { level: 1, name: 'Pia Person' }).waitFor();
    assert.deepEqual(await axeViolations(page), [], scheme);
    assert.deepEqual(page.errors, []);
    await close(page);
  }
});
