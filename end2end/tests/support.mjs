// Shared setup: one Debian Chromium for the whole file, driven by
// playwright-core, against the server at BASE_URL.
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

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

/** The demo accounts the server lists on its login page. */
export async function demoAccounts() {
  const res = await fetch(BASE + '/api/ui/demo-accounts', { method: 'POST' });
  if (res.status !== 200) throw new Error(`demo accounts: ${res.status}`);
  return res.json();
}

/** The first demo account with `role` in the first demo org (Acme Corp). */
export async function account(role, org = 'Acme Corp') {
  const found = (await demoAccounts()).find((a) => a.role === role && a.org === org);
  if (!found) throw new Error(`no ${role} demo account in ${org}`);
  return found;
}

/** Signs in through the real login route; returns the session cookie value. */
export async function sessionFor(email, password = 'demo') {
  const res = await fetch(BASE + '/auth/login', {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password, next: '' }),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('atl_session='));
  if (!cookie) throw new Error(`sign-in as ${email} failed: ${res.status} ${res.headers.get('location')}`);
  return cookie.split(';')[0].slice('atl_session='.length);
}

let ownerSession;
/** A session of Acme's owner, made once per test file. */
export async function ownerCookie() {
  ownerSession ??= await sessionFor((await account('owner')).email);
  return ownerSession;
}

/**
 * Opens `path` in a fresh context (signed in as Acme's owner unless
 * `session` says otherwise: a cookie value, or null for signed out). With JavaScript on, waits until the
 * timeline has hydrated, so clicks never race it. Browser errors are
 * collected in `page.errors` and fail the test via `assertNoErrors`.
 */
export async function open(path, { js = true, beforeLoad, session, hydrated = true } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
  const cookie = session === undefined ? await ownerCookie() : session;
  if (cookie) {
    const url = new URL(BASE);
    await context.addCookies([{ name: 'atl_session', value: cookie, domain: url.hostname, path: '/', httpOnly: true }]);
  }
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  if (beforeLoad) await beforeLoad(page);
  await page.goto(BASE + path);
  if (js && hydrated) await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 });
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
      entityId: li.dataset.entityId,
      action: li.querySelector('.badge-text')?.textContent ?? '',
      entityType: li.querySelector('.entity-type')?.textContent ?? '',
      entityName: li.querySelector('.entity-name')?.textContent ?? '',
      deleted: !!li.querySelector('del.entity-name'),
      actor: li.querySelector('.actor-name')?.textContent ?? '',
    })));
}

/** Waits until every visible entry satisfies `predicate` (and there is one). */
// `whole`: a condition on the list as a whole, for when stale rows would
// also pass `predicate` (a filter removed, say).
export async function waitForEntries(page, predicate, what, whole = () => true) {
  const deadline = Date.now() + 15_000;
  let last = [];
  while (Date.now() < deadline) {
    last = await entries(page);
    if (last.length > 0 && last.every(predicate) && whole(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`timed out waiting for entries: ${what}; last saw ${JSON.stringify(last.slice(0, 3))}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page, as text. */
export async function axeViolations(page) {
  // Evaluated through the devtools protocol, which the page's content
  // security policy (no inline scripts) rightly does not let a <script> do.
  await page.evaluate(AXE);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary ?? '').replace(/\s+/g, ' ')).join('\n  ')}`);
}

/** Why tests that drive the product's CLI are skipped, or false. */
export const needsCli = !process.env.AUDIT_BIN && 'AUDIT_BIN not set';

/** Runs the product's CLI against the server's own data directory (its
 *  embedded cluster), never a DATABASE_URL the test runner has. */
export const cli = (...args) => execFileSync(process.env.AUDIT_BIN, [...args, '--data-dir', process.env.AUDIT_DATA_DIR], {
  encoding: 'utf8',
  env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), RUST_LOG: 'warn', RUST_BACKTRACE: '0' },
});

/** A new API key of Acme's, through the CLI; its secret. */
export function apiKey(name) {
  const created = cli('api-key', 'create', '--org', 'acme', '--name', name);
  const secret = created.match(/atl_[0-9A-Za-z]+/)?.[0];
  if (!secret) throw new Error(`no key in: ${created}`);
  return secret;
}

/** Sends `events` in one batch with `secret`; fails unless all are stored. */
export async function sendEvents(secret, events) {
  const res = await fetch(BASE + '/api/v1/events', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  if (res.status !== 201) throw new Error(`ingestion: ${res.status} ${await res.text()}`);
  return (await res.json()).ids;
}

/** The timeline's count for a link, read as a reader would. */
export async function timelineCount(href) {
  const page = await open(href);
  const count = page.locator('p.match-count');
  await count.getByText(/matching entr(y|ies)$/).waitFor();
  const text = await count.textContent();
  await close(page);
  if (text.startsWith('No ')) return 0;
  return Number(text.match(/^([\d,]+)/)[1].replace(/,/g, ''));
}
