// Shared setup: one Debian Chromium for the whole file, driven by
// playwright-core, against the server at BASE_URL.
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
});
after(async () => { await browser?.close(); });

/**
 * Opens `path` in a fresh context. With JavaScript on, waits until the
 * timeline has hydrated, so clicks never race it. Browser errors are
 * collected in `page.errors` and fail the test via `assertNoErrors`.
 */
export async function open(path, { js = true, beforeLoad } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  if (beforeLoad) await beforeLoad(page);
  await page.goto(BASE + path);
  if (js) await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 });
  return page;
}

export async function close(page) {
  await page.context().close();
}

/** The visible timeline: one object per entry. */
export async function entries(page) {
  return page.locator('ol[aria-label="Audit log"] > li.entry').evaluateAll((lis) =>
    lis.map((li) => ({
      id: li.dataset.eventId,
      action: li.querySelector('.badge-text')?.textContent ?? '',
      entityType: li.querySelector('.entity-type')?.textContent ?? '',
      entityName: li.querySelector('.entity-name')?.textContent ?? '',
      deleted: !!li.querySelector('del.entity-name'),
      actor: li.querySelector('.actor-name')?.textContent ?? '',
    })));
}

/** Waits until every visible entry satisfies `predicate` (and there is one). */
export async function waitForEntries(page, predicate, what) {
  const deadline = Date.now() + 15_000;
  let last = [];
  while (Date.now() < deadline) {
    last = await entries(page);
    if (last.length > 0 && last.every(predicate)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`timed out waiting for entries: ${what}; last saw ${JSON.stringify(last.slice(0, 3))}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
