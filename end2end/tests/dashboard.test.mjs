// The dashboard: rendered on the server, every number a link to exactly the
// events it counts, the charts' numbers in words, high-priority stories,
// category and priority filters on the timeline, and axe in light and dark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, close, axeViolations, timelineCount } from './support.mjs';

const DASH = '/o/acme/dashboard';

const number = (text) => Number(text.match(/([\d,]+)/)[1].replace(/,/g, ''));

test('the dashboard is plain HTML with every period counted and linked', async () => {
  const page = await open(DASH + '?range=30d', { js: false });
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const stats = page.locator('dl.stats .stat');
  assert.deepEqual(await stats.locator('dt').allTextContents(), ['Today', 'This week', 'This month', 'Storage used']);
  for (const name of ['Activity by type · last 30 days', 'Activity over time', 'Recent high-priority events']) {
    await page.getByRole('heading', { name }).waitFor();
  }
  // 30 daily bars, each a link, and the same numbers in the table.
  assert.equal(await page.locator('figure.activity-chart svg a').count(), 30);
  assert.equal(await page.locator('figure.activity-chart tbody tr').count(), 30);
  assert.match(await page.locator('dl.stats .stat').nth(3).textContent(), /(KB|MB|GB) for [\d,]+ events/);
  await close(page);
});

test('each number links to the timeline showing exactly that many events', async () => {
  const page = await open(DASH + '?range=7d');
  const links = [];
  for (const a of await page.locator('dl.stats .stat a').all()) {
    const text = await a.textContent();
    if (/events$/.test(text)) links.push({ what: 'period ' + text, n: number(text), href: await a.getAttribute('href') });
  }
  for (const a of (await page.locator('ul.category-chart a').all()).slice(0, 4)) {
    const text = await a.locator('.cat-count').textContent();
    links.push({ what: 'category ' + (await a.locator('.cat-label').textContent()), n: number(text), href: await a.getAttribute('href') });
  }
  const rows = page.locator('figure.activity-chart tbody tr');
  for (const i of [0, 6]) {
    const cells = await rows.nth(i).locator('td').allTextContents();
    links.push({ what: 'bar ' + i, n: number(cells[cells.length - 1]), href: await rows.nth(i).locator('a').getAttribute('href') });
  }
  assert.deepEqual(page.errors, []);
  await close(page);
  let checked = 0;
  for (const l of links) {
    // The timeline's count says "10,000+" beyond its cap: compare below it.
    if (l.n >= 10_000) continue;
    assert.equal(await timelineCount(l.href), l.n, `${l.what}: ${l.href}`);
    checked += 1;
  }
  assert.ok(checked >= 6, `only ${checked} numbers could be compared`);
});

test('a time zone half an hour off UTC still counts to the event', async () => {
  const page = await open(DASH + '?range=24h&tz=Asia/Kolkata', { js: false });
  const rows = page.locator('figure.activity-chart tbody tr');
  assert.equal(await rows.count(), 24);
  const checks = [];
  for (const i of [10, 23]) {
    const cells = await rows.nth(i).locator('td').allTextContents();
    checks.push({ n: number(cells[cells.length - 1]), href: await rows.nth(i).locator('a').getAttribute('href') });
  }
  const today = page.locator('dl.stats .stat a').first();
  checks.push({ n: number(await today.textContent()), href: await today.getAttribute('href') });
  await close(page);
  for (const c of checks) {
    assert.match(c.href, /tz=Asia%2FKolkata/);
    if (c.n < 10_000) assert.equal(await timelineCount(c.href), c.n, c.href);
  }
});

test('high-priority stories link to their events, and priority and category filter the timeline', async () => {
  const page = await open(DASH + '?range=90d');
  const stories = page.locator('ul.stories li.story a');
  assert.ok((await stories.count()) > 0, 'the demo log has high-priority events');
  const burst = page.locator('ul.stories a', { hasText: /^Failed sign-ins \(\d+\)/ });
  if (await burst.count()) {
    const n = number(await burst.first().textContent());
    assert.ok(n >= 5);
    assert.equal(await timelineCount(await burst.first().getAttribute('href')), n);
  }
  await close(page);

  const high = await open('/o/acme?priority=high&category=security');
  await high.getByRole('button', { name: 'Remove filter Priority: High' }).waitFor();
  await high.getByRole('button', { name: 'Remove filter Category: Security events' }).waitFor();
  assert.equal(await high.getByRole('searchbox', { name: 'Search' }).inputValue(), 'category:security priority:high');
  assert.deepEqual(high.errors, []);
  await close(high);
});

test('a bad zone or range is a clear message naming it', async () => {
  const page = await open(DASH + '?tz=Mars/Olympus', { js: false });
  await page.getByText("tz: 'Mars/Olympus' is not a time zone this server knows").waitFor();
  await close(page);
  const range = await open(DASH + '?range=1y', { js: false });
  await range.getByText('range: use 24h, 7d, 30d or 90d').waitFor();
  await close(range);
});

test('axe finds no serious or critical violation on the dashboard, light and dark', async () => {
  const page = await open(DASH);
  assert.deepEqual(await axeViolations(page), [], 'dashboard');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await axeViolations(page), [], 'dashboard, dark');
  assert.deepEqual(page.errors, []);
  await close(page);
});
