// Sign-in, roles, orgs and the guards around them, as people meet them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, open, close, entries, waitForEntries, account, sessionFor, demoAccounts } from './support.mjs';

test('signing in from a bookmarked link lands on that filtered view, and sign-in is audited', async () => {
  const owner = await account('owner');
  const page = await open('/o/acme?entity=invoice', { session: null, hydrated: false });
  await page.waitForURL(/\/login\?next=/);
  const listed = page.getByRole('region', { name: 'Demo accounts' });
  assert.ok((await listed.locator('tbody tr').count()) >= 25, 'demo accounts are listed');
  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/o\/acme\?entity=invoice$/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await waitForEntries(page, (r) => r.entityType === 'Invoice', 'the bookmarked filter');
  assert.match(await page.locator('.who').textContent(), new RegExp(`${owner.name}.*Owner`));

  await page.goto(BASE + '/o/acme?q=user.login');
  await page.waitForSelector('body[data-hydrated="true"]');
  const rows = await entries(page);
  assert.ok(rows.some((r) => r.action === 'user.login' && r.actor === owner.name), 'the sign-in is in the log');
  await close(page);
});

test('a wrong password says so; repeated failures are rate limited even with the right password', async () => {
  const dev = (await demoAccounts()).filter((a) => a.role === 'developer' && a.org === 'Acme Corp').at(-1);
  const page = await open('/login', { session: null, hydrated: false });
  for (let i = 0; i < 5; i++) {
    await page.getByLabel('Email').fill(dev.email);
    await page.getByLabel('Password').fill('wrong-' + i);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'do not match' }).waitFor();
  }
  await page.getByLabel('Password').fill('demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Too many failed sign-ins' }).waitFor();
  assert.match(page.url(), /\/login\?error=too_many/);
  await close(page);
});

test('a Member is refused the audit log on the server with a clear message', async () => {
  const member = await account('member');
  const cookie = await sessionFor(member.email);
  const page = await open('/o/acme', { session: cookie, hydrated: false });
  const denied = page.getByRole('alert');
  await denied.waitFor();
  assert.match(await denied.textContent(), /View Audit Log permission/);
  assert.equal(await page.locator('li.entry').count(), 0);
  const res = await fetch(BASE + '/o/acme', { headers: { cookie: `atl_session=${cookie}` } });
  assert.equal(res.status, 403, 'the page itself is a 403');
  const api = await fetch(BASE + '/api/ui/timeline', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `atl_session=${cookie}` },
    body: 'org=acme&filter[q]=&scope[q]=',
  });
  assert.equal(api.status, 403, 'the server function refuses too');
  await close(page);
});

test('orgs are in the URL: switching shows the other org, and non-members see nothing of it', async () => {
  const page = await open('/o/acme');
  const menu = page.getByRole('combobox', { name: 'Organisation' });
  const options = await menu.locator('option').evaluateAll((os) => os.map((o) => ({ slug: o.value, name: o.textContent })));
  assert.equal(options.length, 2, 'the owner belongs to two orgs');
  const other = options.find((o) => o.slug !== 'acme');
  const acmeIds = new Set((await entries(page)).map((r) => r.id));
  await menu.selectOption(other.slug);
  await page.waitForURL(new RegExp(`/o/${other.slug}$`));
  await page.locator('h1', { hasText: other.name }).waitFor();
  const otherRows = await waitForEntries(page, (r) => !acmeIds.has(r.id), 'the other org');
  assert.ok(otherRows.length > 0);
  await close(page);

  // An Acme admin who is not in the other org gets the same answer as for
  // an org that does not exist.
  const admin = (await demoAccounts()).filter((a) => a.role === 'admin' && a.org === 'Acme Corp').at(-1);
  const cookie = await sessionFor(admin.email);
  for (const slug of [other.slug, 'no-such-org']) {
    const res = await fetch(BASE + '/api/ui/timeline', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `atl_session=${cookie}` },
      body: `org=${slug}&filter[q]=&scope[q]=`,
    });
    assert.equal(res.status, 404, slug);
  }
});

test('signing out ends the session', async () => {
  const cookie = await sessionFor((await account('developer')).email);
  const page = await open('/o/acme', { session: cookie });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login\?error=signed_out/);
  await page.getByText('You have signed out.').waitFor();
  const res = await fetch(BASE + '/o/acme', { redirect: 'manual', headers: { cookie: `atl_session=${cookie}` } });
  assert.equal(res.status, 303);
  assert.match(res.headers.get('location'), /^\/login\?next=/);
  // Server functions too, at once: the server remembers sessions for a
  // couple of seconds, and signing out must forget this one.
  const fn = await fetch(BASE + '/api/ui/viewer', {
    method: 'POST',
    headers: { cookie: `atl_session=${cookie}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'org=acme',
  });
  assert.equal(fn.status, 401, await fn.text());
  await close(page);
});

test('server functions refuse cross-site requests and requests without a session', async () => {
  const cookie = await sessionFor((await account('owner')).email);
  const crossSite = await fetch(BASE + '/api/ui/timeline', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: `atl_session=${cookie}`,
      origin: 'https://evil.example',
    },
    body: 'org=acme&filter[q]=&scope[q]=',
  });
  assert.equal(crossSite.status, 403);
  const anonymous = await fetch(BASE + '/api/ui/timeline', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'org=acme&filter[q]=&scope[q]=',
  });
  assert.equal(anonymous.status, 401);
});

test('every server function checks the role on the server', async () => {
  const accounts = await demoAccounts();
  const sessions = {};
  for (const role of ['owner', 'admin', 'developer', 'member']) {
    // The first account of each role (the rate-limit test locks out the
    // last developer, not this one).
    const a = accounts.filter((x) => x.role === role && x.org === 'Acme Corp').at(0);
    sessions[role] = await sessionFor(a.email);
  }
  const call = async (endpoint, cookie) => (await fetch(`${BASE}/api/ui/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie: `atl_session=${cookie}` } : {}) },
    // Every argument any of them takes; each reads the ones it needs.
    body: 'org=acme&filter[q]=&scope[q]=&after_seq=0&search=',
  })).status;
  const expected = {
    //                  owner admin developer member anonymous
    'timeline':        [200, 200, 200, 403, 401],
    'count':           [200, 200, 200, 403, 401],
    'events-since':    [200, 200, 200, 403, 401],
    'actors':          [200, 200, 200, 403, 401],
    'entity-types':    [200, 200, 200, 403, 401],
    'chain-status':    [200, 200, 200, 403, 401],
    'verify-chain':    [200, 200, 403, 403, 401],
    'viewer':          [200, 200, 200, 200, 401],
  };
  for (const [endpoint, statuses] of Object.entries(expected)) {
    const got = [];
    for (const role of ['owner', 'admin', 'developer', 'member']) got.push(await call(endpoint, sessions[role]));
    got.push(await call(endpoint, null));
    assert.deepEqual(got, statuses, endpoint);
  }
});
