// A real install, not a demo: a server started without --demo lists nobody
// on its login page and prints a one-time setup link; the link's page works
// without JavaScript, creates the org and its owner, signs them in, and is
// recorded in the new org's log. And a demo server never lists a real
// account added later.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
import { BASE, demoAccounts } from './support.mjs';

const BIN = process.env.AUDIT_BIN;
const DEMO_DATA_DIR = process.env.AUDIT_DATA_DIR;
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), RUST_BACKTRACE: '0' };

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

let server, dir, base, output = '', browser;
before(async () => {
  if (!BIN) return;
  // Under /var/tmp: when run as root the cluster's own user must reach it.
  dir = mkdtempSync('/var/tmp/audit-setup-e2e-');
  chmodSync(dir, 0o755);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', `${dir}/data`], { env: { ...env, RUST_LOG: 'warn' } });
  server.stdout.on('data', (d) => { output += d; });
  server.stderr.on('data', (d) => { output += d; });
  const deadline = Date.now() + 120_000;
  while (!/setup\?token=/.test(output)) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`no setup link printed:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
});
after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('without --demo: nobody is listed, and the one-time setup link makes the first owner', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const link = output.match(/http:\/\/\S+\/setup\?token=[0-9a-f]+/)?.[0];
  assert.ok(link, output);
  assert.match(output, /audit-timeline user add/, 'the command is printed too');
  const listed = await (await fetch(base + '/api/ui/demo-accounts', { method: 'POST' })).json();
  assert.deepEqual(listed, [], 'no accounts are listed without --demo');

  // JavaScript off: the form is plain HTML.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(base + '/login');
  assert.equal(await page.getByRole('region', { name: 'Demo accounts' }).count(), 0);

  await page.goto(link);
  await page.getByLabel('Organisation name').fill('Northwind Ltd');
  await page.getByLabel('Organisation slug').fill('northwind');
  await page.getByLabel('Your name').fill('Nora North');
  await page.getByLabel('Your email').fill('nora@northwind.test');
  // Too short (sent past the browser's own minlength check): refused with
  // the field named, nothing created.
  const refused = await fetch(base + '/setup', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ token: new URL(link).searchParams.get('token'), org_name: 'Northwind Ltd', org_slug: 'northwind', name: 'Nora North', email: 'nora@northwind.test', password: 'short' }),
  });
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /password: at least 10 characters/);

  await page.getByLabel('Password').fill('a long enough secret');
  await page.getByRole('button', { name: 'Create and sign in' }).click();
  await page.waitForURL(/\/o\/northwind$/);
  const rows = await page.locator('ol[aria-label="Audit log"] > li.entry .badge-text').allTextContents();
  assert.ok(rows.some((a) => a.includes('org.create')) && rows.some((a) => a.includes('user.create')), JSON.stringify(rows));

  // The link is used up, and the server is set up.
  const again = await fetch(link);
  assert.equal(again.status, 410);
  await context.close();
});

test('a demo login page never lists a real account added later', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const email = `real-${Date.now()}@acme.com`;
  execFileSync(BIN, ['user', 'add', '--email', email, '--name', 'Real Person', '--org', 'acme', '--role', 'owner', '--data-dir', DEMO_DATA_DIR], {
    env: { ...env, RUST_LOG: 'warn', AUDIT_USER_PASSWORD: 'a real password here' },
  });
  const listed = await demoAccounts();
  assert.ok(listed.length >= 25, 'the demo accounts are listed');
  assert.ok(!listed.some((a) => a.email === email), 'the real account is not');
  assert.ok(listed.every((a) => a.email.endsWith('.example')), JSON.stringify(listed.map((a) => a.email)));
  // It signs in all the same.
  const res = await fetch(BASE + '/auth/login', {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password: 'a real password here', next: '' }),
  });
  assert.equal(res.headers.get('location'), '/o/acme');
});
