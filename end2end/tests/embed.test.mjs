// The timeline embedded in another product's page: a static host page on
// another origin shows it in an iframe with a viewer token minted by the API,
// the frame follows its content's height, the URL cannot widen the token's
// scope, the token leaves every URL after the first (or is in none, when
// posted), a scoped embed is told nothing org-wide, and an expired token or
// one whose API key is revoked is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { BASE, open, close } from './support.mjs';

const BIN = process.env.AUDIT_BIN;
const DATA_DIR = process.env.AUDIT_DATA_DIR;
const cli = (...args) => execFileSync(BIN, [...args, '--data-dir', DATA_DIR], {
  encoding: 'utf8',
  env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), RUST_LOG: 'warn', RUST_BACKTRACE: '0' },
});

let secret;
let host;
let hostOrigin;
let hostPage = '';

before(async () => {
  if (!BIN) return;
  secret = cli('api-key', 'create', '--org', 'acme', '--name', 'Embedding test').match(/atl_[0-9A-Za-z]+/)?.[0];
  // "localhost" against the app's 127.0.0.1: another origin and another site.
  host = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(hostPage);
  });
  await new Promise((resolve) => host.listen(0, '127.0.0.1', resolve));
  hostOrigin = `http://localhost:${host.address().port}`;
});
after(() => host?.close());

async function mint(body, key = secret) {
  const res = await fetch(BASE + '/api/v1/viewer-tokens', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

/**
 * Serves a host page framing `src` (or posting `token` to `src`), opens it
 * signed out, returns the page, its frame, and every URL the page requested.
 */
async function hostWith(src, { token } = {}) {
  const frameAttrs = token ? `data-token="${token}" data-src="${src}"` : `src="${src}"`;
  hostPage = `<!doctype html><html lang="en"><head><title>Host dashboard</title></head><body>
    <h1>Host dashboard</h1>
    <iframe data-audit-timeline ${frameAttrs} title="Audit log" style="width:100%;border:0;height:120px"></iframe>
    <script src="${BASE}/embed.js" defer></script></body></html>`;
  const page = await open('/login', { session: null, hydrated: false });
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  await page.goto(hostOrigin + '/');
  return { page, frame: page.frameLocator('iframe[data-audit-timeline]'), requested };
}

/** The URLs after the framed one that carry a token: there must be none. */
const tokenUrls = (requested) => requested.filter((u) => u.includes('vt1.') && !u.startsWith(BASE + '/embed?token='));

const actions = (frame) => frame.locator('li.entry .badge-text').allTextContents();

test('a host page on another origin shows the scoped timeline, sized to its content', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const minted = await mint({ filter: 'action=delete&entity=invoice', expires_in: 600 });
  const { page, frame, requested } = await hostWith(BASE + minted.embed_path + '&theme=dark&density=compact');
  await frame.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
  // The framed URL was swapped for one naming the token's id only.
  const frameUrl = page.frames().find((f) => f.url().startsWith(BASE + '/embed'))?.url() ?? '';
  assert.match(frameUrl, /\/embed\?theme=dark&density=compact&view=[0-9a-f]{32}$/);
  const shown = await actions(frame);
  assert.ok(shown.length > 0 && shown.every((a) => a === 'invoice.delete'), `scoped rows, got ${shown.slice(0, 3)}`);
  assert.equal(await frame.locator('.app-bar').count(), 0, 'no app chrome');
  assert.equal(await frame.locator('.embed').getAttribute('data-theme'), 'dark');
  // The frame grew to its content through postMessage and embed.js.
  await page.waitForFunction(() => parseFloat(document.querySelector('iframe').style.height) > 400);
  const [frameHeight, contentHeight] = await Promise.all([
    page.evaluate(() => parseFloat(document.querySelector('iframe').style.height)),
    frame.locator('html').evaluate((html) => Math.ceil(html.getBoundingClientRect().height)),
  ]);
  assert.ok(Math.abs(frameHeight - contentHeight) <= 2, `frame ${frameHeight}px for content ${contentHeight}px`);
  // Filters inside the frame narrow further.
  await frame.getByRole('searchbox', { name: 'Search' }).fill('action:delete');
  await frame.locator('li.entry').first().waitFor();
  assert.deepEqual(tokenUrls(requested), [], 'no later request carries the token in its URL');
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('a token posted by embed.js is in no URL at all', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const minted = await mint({ filter: 'action=delete&entity=invoice', expires_in: 600 });
  const { page, frame, requested } = await hostWith(`${BASE}/embed?theme=dark`, { token: minted.token });
  await frame.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
  const shown = await actions(frame);
  assert.ok(shown.length > 0 && shown.every((a) => a === 'invoice.delete'), `scoped rows, got ${shown.slice(0, 3)}`);
  assert.deepEqual(requested.filter((u) => u.includes('vt1.')), []);
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('a scoped token is told nothing about the whole org', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const minted = await mint({ filter: 'action=delete&entity=invoice', expires_in: 600 });
  const call = (fn, body) => fetch(`${BASE}/api/ui/${fn}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `org=${encodeURIComponent(minted.token)}&${body}`,
  });
  const page = await (await call('timeline', 'filter[q]=&scope[q]=')).json();
  assert.ok(page.events.length > 0);
  assert.equal(page.head_seq ?? null, null, 'no chain position');
  assert.equal(await (await call('chain-status', '')).json(), null, 'no chain status');
  assert.equal((await call('events-since', 'filter[q]=&scope[q]=&after_seq=0')).status, 403);
  // The count is of the scope only, like the rows.
  const count = await (await call('count', 'filter[q]=&scope[q]=')).json();
  const all = await (await call('timeline', 'filter[q]=&scope[q]=&page_size=200')).json();
  assert.ok(count.count >= all.events.length && all.events.every((e) => e.action === 'invoice.delete'));
  assert.ok(!count.capped && count.count < 5000, `${count.count} is the scope's, not the org's`);
});

test('revoking the API key revokes the tokens it minted', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const created = cli('api-key', 'create', '--org', 'acme', '--name', 'Revoked soon');
  const key = created.match(/atl_[0-9A-Za-z]+/)[0];
  const id = created.match(/\(([0-9a-f-]{36})\)/)[1];
  const minted = await mint({ record: 'inv_0001', expires_in: 600 }, key);
  const { page, frame } = await hostWith(BASE + minted.embed_path);
  await frame.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
  await close(page);
  cli('api-key', 'revoke', '--org', 'acme', id);
  const again = await hostWith(BASE + minted.embed_path);
  await again.frame.getByRole('alert').getByText(/has expired or its link is not valid/).waitFor({ timeout: 20_000 });
  assert.equal(await again.frame.locator('li.entry').count(), 0);
  await close(again.page);
});

test('the URL can narrow a token scope but never widen it', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const minted = await mint({ filter: 'action=delete&entity=invoice', expires_in: 600 });
  // Asking for creates, or for tasks, inside a deletes-of-invoices token: nothing.
  for (const widen of ['&action=create', '&entity=task']) {
    const { page, frame } = await hostWith(BASE + minted.embed_path + widen);
    await frame.getByText('No events match these filters.').waitFor({ timeout: 20_000 });
    assert.equal(await frame.locator('li.entry').count(), 0, widen);
    await close(page);
  }
  // The server functions hold the same line when called directly.
  const res = await fetch(BASE + '/api/ui/timeline', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `org=${encodeURIComponent(minted.token)}&filter[q]=&scope[q]=`,
  });
  assert.equal(res.status, 200);
  const { events } = await res.json();
  assert.ok(events.length > 0 && events.every((e) => e.action === 'invoice.delete'));
});

test('only the embed may be framed; every other page refuses it', async () => {
  const app = await fetch(BASE + '/login');
  assert.match(app.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.equal(app.headers.get('x-frame-options'), 'DENY');
  const embed = await fetch(BASE + '/embed?token=x');
  assert.equal(embed.headers.get('x-frame-options'), null);
  assert.doesNotMatch(embed.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
});

test('an expired or forged token is refused with a clear message', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const minted = await mint({ record: 'inv_0001', expires_in: 1 });
  await new Promise((r) => setTimeout(r, 1500));
  const { page, frame } = await hostWith(BASE + minted.embed_path);
  await frame.getByRole('alert').getByText(/has expired or its link is not valid/).waitFor({ timeout: 20_000 });
  assert.equal(await frame.locator('li.entry').count(), 0);
  await close(page);
  const forged = minted.token.slice(0, -4) + (minted.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const res = await fetch(BASE + '/api/ui/timeline', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `org=${encodeURIComponent(forged)}&filter[q]=&scope[q]=`,
  });
  assert.equal(res.status, 401);
});
