// Filtered first-page latency through the real server function, signed in,
// as the browser calls it: POST /api/ui/timeline with a filter, timed from
// request to parsed JSON. Prints median, p95 and max per filter mix.
//
//   node scripts/bench-filters.mjs http://127.0.0.1:3000 [runs]
//
// Against a server started with `serve --demo-events 1000000` on an empty
// data directory, this is the "filtered first page on 1M demo events" figure.
const BASE = process.argv[2] ?? 'http://127.0.0.1:3000';
const RUNS = Number(process.argv[3] ?? 200);

const accounts = await (await fetch(BASE + '/api/ui/demo-accounts', { method: 'POST' })).json();
const owner = accounts.find((a) => a.role === 'owner');
const login = await fetch(BASE + '/auth/login', {
  method: 'POST',
  redirect: 'manual',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ email: owner.email, password: 'demo', next: '' }),
});
const cookie = login.headers.getSetCookie().find((c) => c.startsWith('atl_session=')).split(';')[0];

// serde_qs form of a TimelineFilter, as the browser sends it.
function body(f) {
  const p = new URLSearchParams({ org: 'acme', 'filter[q]': f.q ?? '', 'scope[q]': '' });
  for (const [key, values] of Object.entries(f)) {
    if (Array.isArray(values)) values.forEach((v, i) => p.append(`filter[${key}][${i}]`, v));
    else if (key !== 'q') p.append(`filter[${key}]`, values);
  }
  return p.toString();
}

async function call(f) {
  const res = await fetch(BASE + '/api/ui/timeline', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: body(f),
  });
  if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
  return res.json();
}

// A real actor and record from the log, so those filters find something.
const sample = (await call({})).events.find((e) => e.actor.kind === 'user');
const mixes = {
  'no filter': {},
  'action type (delete)': { actions: ['delete'] },
  'entity types (invoice, ticket, task)': { entity_types: ['invoice', 'ticket', 'task'] },
  'one actor': { actors: [sample.actor.id] },
  'last 7 days': { within: 'Week' },
  'record id': { record: sample.entity.id },
  'delete + invoice + 30 days': { actions: ['delete'], entity_types: ['invoice'], within: 'Month' },
  'actor + update + search term': { actors: [sample.actor.id], actions: ['update'], q: 'a' },
};

const rows = [];
for (const [name, f] of Object.entries(mixes)) {
  for (let i = 0; i < 10; i++) await call(f); // warm-up
  const times = [];
  let found = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const page = await call(f);
    times.push(performance.now() - t0);
    found = page.events.length;
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  rows.push({ mix: name, rows: found, median: q(0.5).toFixed(2), p95: q(0.95).toFixed(2), max: times.at(-1).toFixed(2), runs: RUNS });
}
console.log('| filter mix | rows on page | median ms | p95 ms | max ms | runs |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.mix} | ${r.rows} | ${r.median} | ${r.p95} | ${r.max} | ${r.runs} |`);
