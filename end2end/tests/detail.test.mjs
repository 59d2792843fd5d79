// Reading an entry: relative times, the time zone picker, the expanded
// detail (user agent in words, session, request, country, record id), the
// changes tree with word diffs and redaction tokens, snapshots, keyboard
// navigation and an accessibility audit with axe-core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, open, close, ownerCookie, axeViolations } from './support.mjs';

const ORG = '/o/acme';

/** The entries' summaries, in order. */
const summaries = (page) => page.locator('ol[aria-label="Audit log"] > li.entry > button.entry-summary');

/**
 * Expands entries of the page one by one (collapsing each again) until
 * `check(li)` returns a truthy value for one; returns that entry, still
 * expanded, and the value. Demo data is generated, so tests look for a
 * suitable entry instead of naming one.
 */
async function findExpanded(page, check, what, limit = 50) {
  const count = Math.min(await summaries(page).count(), limit);
  for (let i = 0; i < count; i++) {
    const li = page.locator('ol[aria-label="Audit log"] > li.entry').nth(i);
    const button = li.locator('button.entry-summary');
    await button.click();
    await li.locator('.entry-detail').waitFor();
    const found = await check(li);
    if (found) return { li, found };
    await button.click();
    await li.locator('.entry-detail').waitFor({ state: 'detached' });
  }
  throw new Error(`no entry among the first ${count} with ${what}`);
}


test('rows show a relative time with the exact time on hover and focus, and an IP address column', async () => {
  // Server render (no script): the absolute UTC form, the instant kept.
  const noJs = await open(ORG, { js: false });
  const serverTime = noJs.locator('li.entry time.when').first();
  assert.match(await serverTime.locator('.when-text').textContent(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  assert.match(await serverTime.getAttribute('title'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  await close(noJs);

  const page = await open(ORG);
  const time = page.locator('li.entry time.when').first();
  // After hydration the browser switches to relative times (the demo log
  // runs up to now, so its newest entry is recent).
  await page.waitForFunction(() => /ago$|^just now$/.test(document.querySelector('li.entry .when-text')?.textContent ?? ''));
  const instant = Date.parse(await time.getAttribute('datetime'));
  assert.ok(Number.isFinite(instant), 'datetime is an ISO instant');
  const title = await time.getAttribute('title');
  assert.match(title, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \S+/, 'exact time with zone in the tooltip');
  assert.equal(await time.locator('.when-exact').textContent(), title);
  // Revealed when the row has keyboard focus.
  const hiddenWidth = await time.locator('.when-exact').evaluate((el) => el.getBoundingClientRect().width);
  assert.ok(hiddenWidth <= 1, 'exact time is visually hidden by default');
  await page.keyboard.press('j');
  const shownWidth = await time.locator('.when-exact').evaluate((el) => el.getBoundingClientRect().width);
  assert.ok(shownWidth > 50, `exact time shown on focus (${shownWidth}px)`);

  const ips = await page.locator('li.entry .ip').allTextContents();
  assert.equal(ips.length, await summaries(page).count(), 'every row has an IP cell');
  assert.ok(ips.some((ip) => /\d+\.\d+\.\d+\.\d+/.test(ip)), 'IP addresses are shown');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('the time zone picker defaults to the browser zone, changes shown times, and is remembered', async () => {
  // A browser in New York: its zone is the default.
  const probe = await open('/login', { session: null, hydrated: false });
  const browser = probe.context().browser();
  await close(probe);
  const context = await browser.newContext({ timezoneId: 'America/New_York', viewport: { width: 1280, height: 900 } });
  await context.addCookies([{ name: 'atl_session', value: await ownerCookie(), domain: new URL(BASE).hostname, path: '/', httpOnly: true }]);
  let page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(BASE + ORG);
  await page.waitForSelector('body[data-hydrated="true"]');
  const picker = page.getByRole('combobox', { name: 'Time zone' });
  await page.waitForFunction(() => document.querySelector('.tz-picker select')?.value === 'America/New_York');
  const time = page.locator('li.entry time.when').first();
  assert.match(await time.getAttribute('title'), /\(America\/New_York\)$/);

  // Tokyo: nine hours ahead of UTC, no daylight saving.
  await picker.selectOption('Asia/Tokyo');
  await page.waitForFunction(() => /Asia\/Tokyo/.test(document.querySelector('li.entry time.when')?.title ?? ''));
  const instant = new Date(await time.getAttribute('datetime'));
  const tokyo = new Date(instant.getTime() + 9 * 3600_000);
  const expected = `${tokyo.toISOString().slice(0, 10)} ${tokyo.toISOString().slice(11, 19)}`;
  assert.ok((await time.getAttribute('title')).startsWith(expected), `${await time.getAttribute('title')} starts with ${expected}`);

  // The expanded detail uses the same zone.
  await page.locator('li.entry button.entry-summary').first().click();
  const when = page.locator('li.entry .fact[data-fact="when"] time').first();
  assert.match(await when.textContent(), /\(Asia\/Tokyo\)$/);

  // Remembered across a reload.
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.waitForFunction(() => document.querySelector('.tz-picker select')?.value === 'Asia/Tokyo');
  await page.waitForFunction(() => /Asia\/Tokyo/.test(document.querySelector('li.entry time.when')?.title ?? ''));
  assert.equal(await page.evaluate(() => localStorage.getItem('audit-timeline.time-zone')), 'Asia/Tokyo');

  // UTC is always offered.
  await picker.selectOption('UTC');
  await page.waitForFunction(() => / UTC$/.test(document.querySelector('li.entry time.when')?.title ?? ''));
  assert.deepEqual(errors, []);
  await context.close();
});

test('an update expands to a changes tree with Added, Updated and Removed fields and nested objects', async () => {
  const page = await open(ORG + '?q=client.update');
  const kinds = new Set();
  const { li } = await findExpanded(page, async (li) => {
    const changes = li.getByRole('region', { name: 'Changes' });
    if ((await changes.count()) === 0) return false;
    for (const k of await changes.locator('.change-kind').allTextContents()) kinds.add(k);
    return (await changes.locator('li.change-branch').count()) > 0 && kinds.size === 3;
  }, 'a nested change, having seen every kind of change');
  const changes = li.getByRole('region', { name: 'Changes' });
  assert.deepEqual([...kinds].sort(), ['Added', 'Removed', 'Updated']);
  // Every changed field says what happened to it in words.
  const leaves = await changes.locator('li.change-leaf').evaluateAll((lis) => lis.map((l) => ({
    field: l.querySelector('.change-field').textContent,
    kind: l.querySelector('.change-kind').textContent,
  })));
  assert.ok(leaves.length > 0);
  for (const { field, kind } of leaves) assert.ok(['Added', 'Updated', 'Removed'].includes(kind), `${field}: ${kind}`);
  // The nested object opens inline, its fields listed inside it.
  const branch = changes.locator('li.change-branch').first();
  assert.equal(await branch.locator('details').first().getAttribute('open'), '');
  assert.ok((await branch.locator('.change-tree li.change').count()) > 0, 'nested fields are listed');
  assert.match(await changes.locator('.change-counts').textContent(), /\d+ (added|updated|removed)/);
  // Colour is never the only signal, but old is on red and new on green.
  const updated = changes.locator('li.change-leaf[data-change="updated"] .change-values').first();
  if (await updated.locator('del.old').count()) {
    const bg = (sel) => updated.locator(sel).evaluate((el) => getComputedStyle(el).backgroundColor.match(/\d+/g).map(Number));
    const [or, og] = await bg('del.old');
    const [nr, ng] = await bg('ins.new');
    assert.ok(or > og && ng > nr, 'old on red, new on green');
  }
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('a long text edit shows the words that changed', async () => {
  const page = await open(ORG + '?q=.update');
  const { li } = await findExpanded(page, async (li) => (await li.locator('.word-diff').count()) > 0, 'a word diff');
  const diff = li.locator('.word-diff').first();
  const dels = await diff.locator('del').allTextContents();
  const ins = await diff.locator('ins').allTextContents();
  assert.ok(dels.length + ins.length > 0, 'some words removed or added');
  const whole = await diff.textContent();
  for (const w of [...dels, ...ins]) assert.ok(w.length < whole.length, 'only some words are marked, not the whole text');
  assert.equal(await diff.locator('xpath=ancestor::li[contains(@class,"change-leaf")][1]').getAttribute('data-change'), 'updated');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('a delete shows the final snapshot, with nested values as tables rather than JSON', async () => {
  const page = await open(ORG + '?q=client.delete');
  const { li } = await findExpanded(page, async (li) =>
    (await li.getByRole('region', { name: 'Snapshot' }).locator('table.value-table').count()) > 0, 'a nested snapshot value');
  const snapshot = li.getByRole('region', { name: 'Snapshot' });
  assert.ok((await snapshot.locator('table.snapshot-table > tbody > tr').count()) > 0, 'field values listed');
  assert.doesNotMatch(await snapshot.textContent(), /\{"/, 'no raw JSON');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('redacted secrets are shown as a muted [REDACTED] token', async () => {
  const page = await open(ORG + '?q=api_key.create');
  const { li } = await findExpanded(page, async (li) => (await li.locator('.masked').count()) > 0, 'a redacted value');
  const token = li.locator('.masked').first();
  assert.match(await token.textContent(), /^\[(REDACTED|BINARY DATA)\]$/);
  assert.ok(await token.getAttribute('title'), 'says why it is hidden');
  const style = await token.evaluate((el) => getComputedStyle(el).borderStyle);
  assert.equal(style, 'dashed', 'drawn as a token, not as the value');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('the detail shows the user agent in words, session, request, country and the full record id', async () => {
  const page = await open(ORG + '?q=.update');
  const { li } = await findExpanded(page, async (li) =>
    (await li.locator('.fact[data-fact="session"]').count()) > 0
    && (await li.locator('details.user-agent').count()) > 0, 'a signed-in browser session');
  const fact = (key) => li.locator(`.fact[data-fact="${key}"] dd`);
  const words = await fact('user-agent').locator('summary').textContent();
  assert.match(words, /^(Chrome|Firefox|Safari|Edge|Opera) \d+ on (Windows|macOS|Linux|iOS|iPadOS|Android)$/);
  const raw = await fact('user-agent').locator('summary').getAttribute('title');
  assert.match(raw, /^Mozilla\/5\.0 /, 'the raw string is kept');
  await fact('user-agent').locator('summary').click();
  assert.equal(await fact('user-agent').locator('code.user-agent-raw').textContent(), raw);
  assert.match(await fact('session').textContent(), /\S{6,}/);
  assert.match(await fact('request').textContent(), /^req_/);
  assert.match(await fact('country').textContent(), /^[A-Z][\w ]+ \([A-Z]{2}\)$/);
  assert.equal(await fact('record-id').textContent(), await li.getAttribute('data-entity-id'));
  assert.match(await fact('when').textContent(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} /);
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('keyboard: j/k and arrows move between entries, Enter expands, / searches, Esc clears', async () => {
  const page = await open(ORG);
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    const all = [...document.querySelectorAll('li.entry > button.entry-summary')];
    return { index: all.indexOf(el), tag: el?.tagName, type: el?.getAttribute('type'), outline: getComputedStyle(el).outlineStyle };
  });
  await page.keyboard.press('j');
  assert.equal((await focused()).index, 0);
  assert.equal((await focused()).outline, 'solid', 'focus is visible');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  assert.equal((await focused()).index, 2);
  await page.keyboard.press('k');
  assert.equal((await focused()).index, 1);
  await page.keyboard.press('ArrowDown');
  assert.equal((await focused()).index, 2);
  await page.keyboard.press('ArrowUp');
  assert.equal((await focused()).index, 1);
  await page.keyboard.press('Enter');
  const second = summaries(page).nth(1);
  assert.equal(await second.getAttribute('aria-expanded'), 'true');
  await page.keyboard.press(' ');
  assert.equal(await second.getAttribute('aria-expanded'), 'false');
  // Modifier keys are left to the browser.
  await page.keyboard.press('Control+j');
  assert.equal((await focused()).index, 1);

  await page.keyboard.press('/');
  assert.equal((await focused()).type, 'search');
  // Typing in the search box types; it does not move between entries.
  await page.keyboard.type('jk invoice');
  const search = page.getByRole('searchbox', { name: 'Search' });
  assert.equal(await search.inputValue(), 'jk invoice');
  await page.waitForURL(/[?&]q=jk/);
  await page.keyboard.press('Escape');
  assert.equal(await search.inputValue(), '');
  await page.waitForURL((url) => !url.searchParams.has('q'));
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('axe finds no serious or critical violation on the timeline, an expanded entry and a record history', async () => {
  const page = await open(ORG);
  assert.deepEqual(await axeViolations(page), [], 'timeline');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await axeViolations(page), [], 'timeline, dark');
  await close(page);

  // An update with its changes tree, and a delete with its snapshot.
  for (const q of ['client.update', 'client.delete']) {
    const expanded = await open(ORG + '?q=' + q);
    await findExpanded(expanded, async (li) => (await li.locator('section.changes, section.snapshot').count()) > 0, 'changes');
    await expanded.locator('details.user-agent summary').first().click().catch(() => {});
    assert.deepEqual(await axeViolations(expanded), [], `expanded ${q}`);
    await expanded.emulateMedia({ colorScheme: 'dark' });
    assert.deepEqual(await axeViolations(expanded), [], `expanded ${q}, dark`);
    assert.deepEqual(expanded.errors, []);
    await close(expanded);
  }

  // A record's history, reached as a reader does: from a row's link.
  const timeline = await open(ORG + '?q=.update');
  const href = await timeline.locator('li.entry a.record-history').first().getAttribute('href');
  await close(timeline);
  const history = await open(href);
  await history.getByRole('heading', { name: /^History of / }).waitFor();
  assert.ok((await history.locator('li.entry').count()) > 0, 'the history lists its entries');
  assert.deepEqual(await axeViolations(history), [], 'record history');
  await history.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await axeViolations(history), [], 'record history, dark');
  assert.deepEqual(history.errors, []);
  await close(history);
});
