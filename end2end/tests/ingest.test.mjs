// The path a new user takes: create an API key with the CLI, send an event
// over HTTP, find it in the timeline, and verify the chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BASE, open, close, waitForEntries } from './support.mjs';

const BIN = process.env.AUDIT_BIN;
const DATA_DIR = process.env.AUDIT_DATA_DIR;
const cli = (...args) => execFileSync(BIN, [...args, '--data-dir', DATA_DIR], {
  encoding: 'utf8',
  // The server's own embedded cluster, found through its data directory.
  env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL')), RUST_LOG: 'warn', RUST_BACKTRACE: '0' },
});

test('an event sent with an API key appears in the timeline, and the chain verifies', { skip: !BIN && 'AUDIT_BIN not set' }, async () => {
  const created = cli('api-key', 'create', '--org', 'acme', '--name', 'End-to-end test');
  const secret = created.match(/atl_[0-9A-Za-z]+/)?.[0];
  assert.ok(secret, created);

  const name = `INV-E2E-${Date.now()}`;
  const res = await fetch(BASE + '/api/v1/events', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      occurred_at: new Date().toISOString(),
      actor: { kind: 'api_key', id: 'billing-service', name: 'Billing service' },
      action: 'invoice.update',
      entity: { type: 'invoice', id: 'inv_e2e', name },
      changes: { diff: { status: { old: 'draft', new: 'sent' }, password: { old: 'a', new: 'b' } } },
      context: { ip: '198.51.100.4' },
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());

  const page = await open('/o/acme?q=' + encodeURIComponent(name));
  const rows = await waitForEntries(page, (r) => r.entityName === name, 'the sent event');
  assert.equal(rows.length, 1);
  assert.equal(rows[0].actor, 'Billing service');
  await page.locator('li.entry').first().getByRole('button').click();
  const changes = page.getByRole('region', { name: 'Changes' });
  await changes.waitFor();
  const text = await changes.textContent();
  assert.match(text, /draft/);
  assert.match(text, /\[REDACTED\]/, 'the secret was redacted at write');
  assert.doesNotMatch(text, /\bb\b.*\bb\b/);

  // Verify from the header (owners and admins), then from the CLI.
  await page.getByRole('button', { name: 'Verify now' }).click();
  await page.locator('.chain.ok', { hasText: /Verified through event #\d+/ }).waitFor();
  await close(page);
  const out = cli('verify', '--org', 'acme');
  assert.match(out, /Acme Corp \(acme\): verified through seq \d+/);
});
