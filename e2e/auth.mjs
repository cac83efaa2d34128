// auth.mjs: drive the wall map's sign-in and editor controls in a real Chromium and
// report what it saw, for auth_browser_test.go. Runnable by hand:
//
//   RISKMAP_CHROMIUM=/usr/bin/chromium RISKMAP_WRITE_TOKEN=... node e2e/auth.mjs \
//     --server http://127.0.0.1:8080 --editor rmk_... --viewer rmk_... --out .tmp/e2e/auth
//
// Steps: load the page signed out (no edit controls); raise an alert (a reading over
// a red threshold, posted with the write token); sign in with the viewer token (no
// edit controls), sign out; sign in with the editor token: acknowledge the alert from
// its row and set the typhoon signal from its chip; reload (still signed in by the
// cookie, which is HttpOnly and SameSite=Strict). Prints one JSON report; exits 1
// only when it could not run.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

import { chromiumArgs } from './chromium.mjs';


const { values: opts } = parseArgs({
  options: {
    server: { type: 'string' },
    out: { type: 'string', default: '.' },
    screenshots: { type: 'string' },
    editor: { type: 'string' },
    viewer: { type: 'string' },
    timeout: { type: 'string', default: '90000' },
    // read-viewer: the server runs with --read-access viewer: the page must ask to
    // sign in first, then work with the viewer's session (map, event stream).
    mode: { type: 'string', default: 'full' },
  },
});
const executablePath = process.env.RISKMAP_CHROMIUM;
const token = process.env.RISKMAP_WRITE_TOKEN;
if (!opts.server || !executablePath || !token || !opts.editor || !opts.viewer) {
  console.error('usage: RISKMAP_CHROMIUM=... RISKMAP_WRITE_TOKEN=... node auth.mjs --server URL --editor TOKEN --viewer TOKEN [--out DIR]');
  process.exit(2);
}
const server = opts.server.replace(/\/$/, '');
const timeout = Number(opts.timeout);
const outDir = resolve(opts.out);
mkdirSync(outDir, { recursive: true });

const report = { chromium: '', steps: [], consoleErrors: [], pageErrors: [], failedRequests: [], screenshots: [] };
const step = (name, data = {}) => report.steps.push({ name, ...data });

async function api(method, path, body) {
  const resp = await fetch(server + path, {
    method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function shoot(page, name) {
  const p = join(outDir, name);
  writeFileSync(p, await page.screenshot());
  report.screenshots.push(p);
}

// controls reads what the page offers: the sign-in button, ack buttons, editable
// signal chips.
const controls = (page) => page.evaluate(() => ({
  authText: document.getElementById('auth-btn').textContent,
  role: document.getElementById('auth-btn').dataset.role,
  ackButtons: document.querySelectorAll('#alerts-list .alert-ack').length,
  editableSignals: document.querySelectorAll('#signals button.signal.editable').length,
  signalSpans: document.querySelectorAll('#signals span.signal').length,
  alerts: document.querySelectorAll('#alerts-list .alert').length,
  cookieVisible: document.cookie.includes('riskmap_session'),
}));

async function signIn(page, tok, role) {
  await page.click('#auth-btn');
  await page.waitForSelector('#auth-dialog[open] #auth-token');
  await page.fill('#auth-token', tok);
  await page.click('#auth-submit');
  await page.waitForFunction((role) => document.getElementById('auth-btn').dataset.role === role, role);
  await page.waitForFunction(() => !document.getElementById('auth-dialog').open);
}

async function signOut(page) {
  await page.click('#auth-btn');
  await page.waitForSelector('#auth-dialog[open] #auth-signout');
  await page.click('#auth-signout');
  await page.waitForFunction(() => document.getElementById('auth-btn').dataset.role === '');
}

const profile = mkdtempSync(join(tmpdir(), 'riskmap-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: chromiumArgs, viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1,
    timezoneId: 'Asia/Shanghai', locale: 'zh-CN',
  });
  report.chromium = context.browser()?.version() ?? '';
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(timeout);
  const expected401 = [];
  page.on('response', (r) => {
    // Under read access viewer, the page's first probe of /api/v1/config is a 401 by design.
    if (r.status() === 401 && opts.mode === 'read-viewer' && r.url().endsWith('/api/v1/config')) { expected401.push(r.url()); return; }
    if (r.status() >= 400) report.failedRequests.push({ url: r.url(), status: r.status() });
  });
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('401')) report.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));

  if (opts.mode === 'read-viewer') {
    await page.goto(server + '/');
    await page.waitForSelector('#auth-dialog[open] #auth-token');
    const asked = await page.evaluate(() => ({
      required: !document.getElementById('auth-required').hidden,
      cancel: !document.getElementById('auth-cancel').hidden,
      ready: window.riskmap?.ready === true,
    }));
    const anon = await fetch(server + '/api/v1/layers');
    await page.fill('#auth-token', opts.viewer);
    await page.click('#auth-submit');
    await page.waitForFunction(() => window.riskmap?.ready === true);
    await page.waitForFunction(() => window.map && window.map.loaded() && window.riskmap.conn === 'live');
    await page.evaluate(() => new Promise((ok) => { window.map.once('idle', ok); window.map.triggerRepaint(); }));
    const drawn = await page.evaluate(() => window.map.queryRenderedFeatures().filter((f) => f.source === 'riskmap').length);
    step('read-viewer', { ...asked, anonymousLayers: anon.status, expected401: expected401.length, drawn, ...(await controls(page)) });
    await shoot(page, 'read-viewer.png');
    throw Object.assign(new Error('done'), { done: true });
  }

  // 1. Signed out: no edit controls.
  await page.goto(server + '/');
  await page.waitForFunction(() => window.riskmap?.ready === true);
  // An open alert: a reading over a sensor's red threshold.
  const { sensors } = await api('GET', '/api/v1/sensors?layer=waterlogging_spots');
  const sensor = sensors.find((s) => s.kind === 'water_depth_cm' && s.thresholds && s.active);
  await api('POST', '/api/v1/readings', [{ sensor_id: sensor.id, time: new Date().toISOString(), value: Math.min(sensor.range_max, sensor.thresholds.red + 5) }]);
  await page.waitForSelector('#alerts-list .alert[data-level="red"]');
  step('anonymous', await controls(page));

  // 2. A viewer: still no edit controls.
  await signIn(page, opts.viewer, 'viewer');
  await page.waitForTimeout(300);
  step('viewer', await controls(page));
  await shoot(page, 'viewer.png');
  await signOut(page);
  step('signed-out', await controls(page));

  // 3. An editor: acknowledge the alert, set the typhoon signal.
  await signIn(page, opts.editor, 'editor');
  await page.waitForSelector('#alerts-list .alert-ack');
  const ed = await controls(page);
  const cookies = (await context.cookies(server)).filter((c) => c.name === 'riskmap_session')
    .map((c) => ({ httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path, secure: c.secure }));
  step('editor', { ...ed, cookies });
  await shoot(page, 'editor.png');

  const ackId = await page.evaluate(() => document.querySelector('#alerts-list .alert-ack').dataset.id);
  await page.click(`#alerts-list .alert-ack[data-id="${ackId}"]`);
  await page.waitForSelector(`#alerts-list .alert.acked[data-id="${ackId}"]`);
  const open = await api('GET', '/api/v1/alerts?open=true&limit=1000');
  const all = await api('GET', '/api/v1/alerts?limit=1000');
  const acked = (all.alerts ?? []).find((a) => String(a.id) === ackId);
  step('ack', { id: Number(ackId), stillOpen: (open.alerts ?? []).some((a) => String(a.id) === ackId), ackedBy: acked?.acked_by ?? null });

  await page.click('#signals button.signal[data-kind="typhoon"]');
  await page.waitForSelector('#signal-menu:not([hidden]) button[data-level="orange"]');
  await page.click('#signal-menu button[data-level="orange"]');
  await page.waitForSelector('#signals .signal[data-kind="typhoon"][data-level="orange"]');
  const sig = await api('GET', '/api/v1/signals');
  const typhoon = (sig.signals ?? []).find((s) => s.kind === 'typhoon');
  step('signal', { level: typhoon?.level, setBy: typhoon?.set_by ?? typhoon?.by ?? null, flood: await page.evaluate(() => window.riskmap.flood) });
  await shoot(page, 'editor-signal.png');

  // 4. A reload keeps the session (the cookie).
  await page.reload();
  await page.waitForFunction(() => window.riskmap?.ready === true);
  await page.waitForFunction(() => document.getElementById('auth-btn').dataset.role === 'editor', null, { timeout: 10000 }).catch(() => {});
  step('reload', await controls(page));
  // Lift the signal again through the page.
  await page.click('#signals button.signal[data-kind="typhoon"]');
  await page.click('#signal-menu button[data-level="none"]');
  await page.waitForSelector('#signals .signal[data-kind="typhoon"][data-level="none"]');
  await signOut(page);
  step('end', await controls(page));
} catch (err) {
  if (!err?.done) report.error = String(err?.stack ?? err);
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.error ? 1 : 0);
