// The Content-Security-Policy holds on every kind of page: the timeline, a
// record's history, the login page and the embed hydrate and work with no
// violation reported, and the policy allows no inline script without the
// response's nonce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { BASE, open, close } from './support.mjs';

const ORG = '/o/acme';
const BIN = process.env.AUDIT_BIN;
const DATA_DIR = process.env.AUDIT_DATA_DIR;

/** Records every CSP violation in every frame, from before any script runs. */
async function watchViolations(page) {
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

async function violations(frame) {
  return frame.evaluate(() => window.__violations ?? ['no watcher']);
}

function assertPolicy(csp) {
  assert.match(csp, /script-src 'self' 'nonce-[0-9a-f]{32}' 'wasm-unsafe-eval'/);
  const scriptSrc = csp.split(';').find((d) => d.trim().startsWith('script-src'));
  assert.doesNotMatch(scriptSrc, /unsafe-inline/);
  assert.match(csp, /object-src 'none'/);
}

test('each response has its own nonce, and the inline scripts carry it', async () => {
  const [a, b] = await Promise.all([fetch(BASE + '/login'), fetch(BASE + '/login')]);
  const csp = a.headers.get('content-security-policy');
  assertPolicy(csp);
  assert.notEqual(csp, b.headers.get('content-security-policy'), 'a fresh nonce per response');
  const nonce = csp.match(/'nonce-([0-9a-f]+)'/)[1];
  const html = await a.text();
  const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)([^>]*)>/g)].map((m) => m[1]);
  assert.ok(inline.length > 0, 'the page has inline scripts');
  for (const attrs of inline) assert.ok(attrs.includes(`nonce="${nonce}"`), `inline script without the nonce: ${attrs}`);
});

test('the timeline hydrates with no CSP violation', async () => {
  const page = await open(ORG, { beforeLoad: watchViolations });
  assertPolicy((await page.request.get(BASE + ORG)).headers()['content-security-policy'] ?? '');
  assert.deepEqual(await violations(page), []);
  assert.deepEqual(page.errors, []);
  await close(page);
});

test('the login page loads its app with no CSP violation', async () => {
  const page = await open('/login', { session: null, hydrated: false, beforeLoad: watchViolations });
  await page.waitForLoadState('networkidle');
  // The WebAssembly app was fetched and run (it marks nothing on this page,
  // but a refused compile or script would be a violation or an error).
  const wasm = await page.evaluate(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.wasm')));
  assert.ok(wasm, 'the app was loaded');
  assert.deepEqual(await violations(page), []);
  assert.deepEqual(page.errors, []);
  await close(page);
});

test("a record's history hydrates with no CSP violation, and its filters work", async () => {
  const page = await open(ORG, { beforeLoad: watchViolations });
  const href = await page.locator('a[href*="/records/"]').first().getAttribute('href');
  await close(page);
  const record = await open(href, { beforeLoad: watchViolations });
  await record.getByRole('heading', { name: /History of/ }).waitFor();
  await record.getByRole('searchbox', { name: 'Search' }).fill('action:update');
  await record.waitForURL(/action=update/);
  assert.deepEqual(await violations(record), []);
  assert.deepEqual(record.errors, []);
  await close(record);
});

test('the embed hydrates in a host page with no CSP violation', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const secret = execFileSync(BIN, ['api-key', 'create', '--org', 'acme', '--name', 'CSP test', '--data-dir', DATA_DIR], {
    encoding: 'utf8',
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), RUST_LOG: 'warn' },
  }).match(/atl_[0-9A-Za-z]+/)[0];
  const minted = await (await fetch(BASE + '/api/v1/viewer-tokens', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ filter: 'entity=invoice', expires_in: 600 }),
  })).json();
  const host = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Host</title><iframe data-audit-timeline src="${BASE}${minted.embed_path}&accent=ff0000&density=compact" title="Audit log"></iframe><script src="${BASE}/embed.js" defer></script>`);
  });
  await new Promise((resolve) => host.listen(0, '127.0.0.1', resolve));
  try {
    const page = await open('/login', { session: null, hydrated: false, beforeLoad: watchViolations });
    await page.goto(`http://localhost:${host.address().port}/`);
    const frame = page.frameLocator('iframe[data-audit-timeline]');
    await frame.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
    await frame.locator('li.entry').first().waitFor();
    const embed = page.frames().find((f) => f.url().startsWith(BASE + '/embed'));
    assert.deepEqual(await violations(embed), []);
    assert.deepEqual(page.errors, []);
    await close(page);
  } finally {
    host.close();
  }
});

test('an <img> pointing at an export or any other page is refused by the server', async () => {
  const page = await open(ORG, { beforeLoad: watchViolations });
  const answers = [];
  page.on('response', (r) => { if (!r.url().includes('/avatars/')) answers.push([new URL(r.url()).pathname, r.status()]); });
  await page.evaluate(() => {
    for (const src of ['/o/acme/export.ndjson', '/auth/logout', '/o/acme']) {
      const img = document.createElement('img');
      img.src = src;
      document.body.append(img);
    }
  });
  await page.waitForFunction(() => [...document.images].filter((i) => !i.src.includes('/avatars/')).every((i) => i.complete));
  for (const path of ['/o/acme/export.ndjson', '/auth/logout', '/o/acme']) {
    assert.deepEqual(answers.find(([p]) => p === path), [path, 403], path);
  }
  // Still signed in: the sign-out was never run.
  assert.equal((await page.request.get(BASE + ORG, { maxRedirects: 0 })).status(), 200);
  await close(page);
});
