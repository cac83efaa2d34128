// hazard.mjs: drive the hazard rectification control of a risk point's popup in a
// real Chromium and report what it saw, for hazard_browser_test.go. Runnable by hand:
//
//   RISKMAP_CHROMIUM=/usr/bin/chromium RISKMAP_WRITE_TOKEN=... node e2e/hazard.mjs \
//     --server http://127.0.0.1:8080 --editor rmk_... --viewer rmk_... --point 123 --ext RP-... --out .tmp/e2e/hazard
//
// Steps: open the point's popup (through the search box) signed out and as a viewer:
// the hazard's status and history, no control; as an editor: move it open →
// rectifying with a note and a past due date (the popup shows it overdue); someone
// else (the API, with the write token) sends it back to open behind the page's
// back; the editor's next move is refused (412) and the section reloads, saying
// so; signed out again, no control. Prints one JSON report; exits 1 only when it
// could not run.
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
    point: { type: 'string' },
    ext: { type: 'string' },
    due: { type: 'string' },
    timeout: { type: 'string', default: '90000' },
  },
});
const executablePath = process.env.RISKMAP_CHROMIUM;
const token = process.env.RISKMAP_WRITE_TOKEN;
if (!opts.server || !executablePath || !token || !opts.editor || !opts.viewer || !opts.point || !opts.ext || !opts.due) {
  console.error('usage: RISKMAP_CHROMIUM=... RISKMAP_WRITE_TOKEN=... node hazard.mjs --server URL --editor TOKEN --viewer TOKEN --point ID --ext EXTERNAL_ID --due YYYY-MM-DD [--out DIR]');
  process.exit(2);
}
const server = opts.server.replace(/\/$/, '');
const timeout = Number(opts.timeout);
const outDir = resolve(opts.out);
mkdirSync(outDir, { recursive: true });
const id = Number(opts.point);

const report = { chromium: '', steps: [], consoleErrors: [], pageErrors: [], failedRequests: [], screenshots: [] };
const step = (name, data = {}) => report.steps.push({ name, ...data });

async function api(method, path, body, headers = {}) {
  const resp = await fetch(server + path, {
    method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
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
  if (opts.screenshots) {
    mkdirSync(resolve(opts.screenshots), { recursive: true });
    writeFileSync(join(resolve(opts.screenshots), name), await page.screenshot());
  }
}

// popup opens the point's popup through the search box and waits for its hazard
// section to be filled in.
async function popup(page) {
  await page.evaluate(() => document.querySelector('.maplibregl-popup-close-button')?.click());
  await page.fill('#search-input', '');
  await page.fill('#search-input', opts.ext);
  const row = `#search-results .search-row[data-layer="risk_points"][data-id="${id}"]`;
  await page.waitForSelector(row);
  await page.click(row);
  await page.waitForSelector(`.maplibregl-popup .hazard[data-hazard="${id}"] .hazard-status`);
  await page.waitForTimeout(300);
}

// section reads the popup's hazard section.
const section = (page) => page.evaluate(() => {
  const h = document.querySelector('.maplibregl-popup .hazard');
  return {
    status: h?.querySelector('.hazard-status')?.dataset.status ?? null,
    statusText: h?.querySelector('.hazard-status')?.textContent ?? null,
    overdue: h?.querySelector('.hazard-overdue')?.textContent ?? null,
    history: h?.querySelectorAll('.hazard-history li').length ?? 0,
    historyTop: h?.querySelector('.hazard-history li')?.textContent ?? null,
    form: !!h?.querySelector('.hazard-form'),
    moves: [...(h?.querySelectorAll('.hazard-form select option') ?? [])].map((o) => o.value),
    message: h?.querySelector('.hazard-msg')?.textContent ?? '',
    role: document.getElementById('auth-btn').dataset.role,
  };
});

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
  page.on('response', (r) => {
    // The signed-out "who am I" is a 401 by design; the stale move's 412 is the step's point.
    if (r.status() >= 400 && !r.url().endsWith('/api/v1/session') && !(r.status() === 412 && r.url().endsWith('/status'))) {
      report.failedRequests.push({ url: r.url(), status: r.status() });
    }
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('401') && !m.text().includes('412')) report.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));

  await page.goto(server + '/');
  await page.waitForFunction(() => window.riskmap?.ready === true);

  // 1. Signed out, then a viewer: the status and history, no control.
  await popup(page);
  step('anonymous', await section(page));
  await signIn(page, opts.viewer, 'viewer');
  await popup(page);
  step('viewer', await section(page));
  await signOut(page);

  // 2. An editor moves it open → rectifying, due in the past: overdue.
  await signIn(page, opts.editor, 'editor');
  await popup(page);
  step('editor', await section(page));
  await page.selectOption('.hazard-form select', 'rectifying');
  await page.fill('.hazard-form textarea', '限期整改（e2e）');
  await page.fill('.hazard-form input[type="date"]', opts.due);
  await page.click('.hazard-form button[type="submit"]');
  await page.waitForSelector('.maplibregl-popup .hazard-status[data-status="rectifying"]');
  step('moved', await section(page));
  await shoot(page, 'hazard-popup.png');
  const afterMove = await api('GET', `/api/v1/hazards/${id}`);
  // The index (which answers reads and draws the map) follows through the change feed.
  let feature = await api('GET', `/api/v1/features/risk_points/${id}`);
  for (let i = 0; i < 50 && feature.properties.hazard_status !== 'rectifying'; i++) {
    await page.waitForTimeout(100);
    feature = await api('GET', `/api/v1/features/risk_points/${id}`);
  }
  const audit = await api('GET', `/api/v1/audit?layer=risk_points&id=${id}&limit=5`);
  step('api', {
    status: afterMove.status, actor: afterMove.history[0]?.actor, due: afterMove.history[0]?.due_on, overdue: afterMove.overdue,
    indexStatus: feature.properties.hazard_status, auditAction: audit.entries[0]?.action, auditActor: audit.entries[0]?.actor,
  });

  // 3. Someone else sends it back behind the page's back; the editor's move is
  // refused (412) and the section reloads.
  await api('POST', `/api/v1/hazards/${id}/status`, { to: 'open', note: '整改方案退回（他人）' }, { 'If-Match': `"${afterMove.version}"` });
  await page.selectOption('.hazard-form select', 'closed');
  await page.click('.hazard-form button[type="submit"]');
  await page.waitForSelector('.maplibregl-popup .hazard-status[data-status="open"]');
  step('conflict', await section(page));

  // 4. Signed out: no control.
  await signOut(page);
  await popup(page);
  step('signed-out', await section(page));
} catch (err) {
  report.error = String(err?.stack ?? err);
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.error ? 1 : 0);
