// wallmap.mjs: drive riskmap's wall map page (served at /) in a real Chromium and
// report what it saw, for wallmap_browser_test.go. Runnable by hand against a
// running server with the demo data:
//
//   RISKMAP_CHROMIUM=/usr/bin/chromium RISKMAP_WRITE_TOKEN=... node e2e/wallmap.mjs \
//     --server http://127.0.0.1:8080 --out .tmp/e2e [--simulate '["bin/riskmap","simulate",...]']
//
// Steps: load the page at 1920×1080 and wait for map idle; count rendered features
// of every riskmap layer at zoom 12 and 16; click a waterlogging spot and read the
// popup's name; screenshot the wall view; post a reading over a sensor's red
// threshold and time the alert's arrival in the panel; raise the typhoon signal and
// read the flood list's order; run the storm drill (--simulate, a command line) and
// screenshot the flood view; then open the page with WebGL disabled and read the
// message; finally stop the server (--stop-url, POSTed) and read the disconnected
// banner over the last picture. Prints one JSON report; exits 1 only when it could not run.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
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
    simulate: { type: 'string' },
    'stop-url': { type: 'string' },
    timeout: { type: 'string', default: '90000' },
    // gcj02: only load the page served with --basemap-crs gcj02 and a raster
    // basemap (--basemap-host is its host:port) and check the tiles and basemap.
    mode: { type: 'string', default: 'full' },
    'basemap-host': { type: 'string' },
  },
});
const executablePath = process.env.RISKMAP_CHROMIUM;
const token = process.env.RISKMAP_WRITE_TOKEN;
if (!opts.server || !executablePath || !token) {
  console.error('usage: RISKMAP_CHROMIUM=... RISKMAP_WRITE_TOKEN=... node wallmap.mjs --server URL [--out DIR] [--screenshots DIR] [--simulate JSON]');
  process.exit(2);
}
const server = opts.server.replace(/\/$/, '');
const timeout = Number(opts.timeout);
const outDir = resolve(opts.out);
mkdirSync(outDir, { recursive: true });
const shotDirs = [outDir];
if (opts.screenshots) {
  mkdirSync(resolve(opts.screenshots), { recursive: true });
  shotDirs.push(resolve(opts.screenshots));
}

const report = {
  chromium: '', steps: [], consoleErrors: [], pageErrors: [], failedRequests: [], layers: {}, screenshots: [],
};
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

// shoot saves a screenshot into --out and, unless outOnly, into --screenshots.
async function shoot(page, name, outOnly = false) {
  const paths = (outOnly ? [outDir] : shotDirs).map((d) => join(d, name));
  const buf = await page.screenshot();
  const { writeFileSync } = await import('node:fs');
  for (const p of paths) writeFileSync(p, buf);
  report.screenshots.push(...paths);
}

// idle waits for the map's idle event (a repaint makes sure one comes).
const idle = (page, ms = timeout) => page.evaluate((ms) => new Promise((ok, fail) => {
  const timer = setTimeout(() => fail(new Error(`no map idle within ${ms} ms`)), ms);
  window.map.once('idle', () => { clearTimeout(timer); ok(); });
  window.map.triggerRepaint();
}), ms);

const countLayers = (page) => page.evaluate(() => {
  const out = {};
  for (const f of window.map.queryRenderedFeatures()) {
    if (f.source !== 'riskmap') continue;
    out[f.sourceLayer] = (out[f.sourceLayer] ?? 0) + 1;
  }
  return out;
});

let stopped = false;

// gcj02Checks: the page of a server with --basemap-crs gcj02 and a raster basemap
// asks for crs=gcj02 overlay tiles and the GCJ-02 offline basemap, loads and draws
// the raster tiles (the picture changes when the raster layer is hidden), and
// draws every layer of riskmap.
async function gcj02Checks(page, requests) {
  const cfg = await page.evaluate(() => fetch('/api/v1/config').then((r) => r.json()));
  const host = opts['basemap-host'];
  const overlay = requests.filter((u) => u.startsWith(server + '/tiles/') && /\.mvt(\?|$)/.test(u));
  const raster = requests.filter((u) => host && new URL(u).host === host);
  report.layers.overview = await countLayers(page);
  // The picture with and without the raster layer, in the map's middle.
  const clip = { x: 700, y: 300, width: 400, height: 400 };
  const withRaster = await page.screenshot({ clip });
  await page.evaluate(() => window.map.setLayoutProperty('raster', 'visibility', 'none'));
  await idle(page);
  const withoutRaster = await page.screenshot({ clip });
  await page.evaluate(() => window.map.setLayoutProperty('raster', 'visibility', 'visible'));
  await idle(page);
  await shoot(page, 'wall-view-gcj02.png', true); // a test pattern for a basemap: not for the README
  await page.evaluate(() => window.map.jumpTo({ center: [114.117, 22.547], zoom: 16 }));
  await idle(page);
  report.layers.z16 = await countLayers(page);
  const csp = await page.evaluate(() => fetch('/').then((r) => r.headers.get('content-security-policy')));
  step('gcj02', {
    crs: cfg.crs, raster: cfg.raster_basemap?.url ?? null, csp,
    overlayTiles: overlay.length, overlayGCJ02: overlay.filter((u) => /[?&]crs=gcj02(&|$)/.test(u)).length,
    basemapGCJ02: requests.filter((u) => u.startsWith(server + '/api/v1/basemap?crs=gcj02')).length,
    rasterTiles: raster.length, rasterTileSample: raster.slice(0, 3),
    rasterLoaded: await page.evaluate(() => window.map.isSourceLoaded('raster')),
    rasterDrawn: !withRaster.equals(withoutRaster),
  });
}

// watch records a page's console errors, page errors and failed requests.
function watch(page) {
  page.setDefaultTimeout(timeout);
  // Once the server is stopped on purpose (the last step), failures are expected.
  page.on('response', (r) => { if (r.status() >= 400 && !stopped) report.failedRequests.push({ url: r.url(), status: r.status() }); });
  page.on('requestfailed', (r) => {
    // The event stream is cut when the page closes: not a failure.
    if (!r.url().includes('/api/v1/events') && !stopped) report.failedRequests.push({ url: r.url(), error: r.failure()?.errorText ?? 'failed' });
  });
  page.on('console', (m) => { if (m.type() === 'error' && !stopped) report.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));
}

// load opens the page and waits for the map's first idle.
async function load(page) {
  await page.goto(server + '/');
  await page.waitForFunction(() => window.map || window.mapLoadError);
  const loadError = await page.evaluate(() => window.mapLoadError);
  if (loadError) throw new Error('the page could not create the map: ' + loadError);
  await page.waitForFunction(() => window.riskmap?.ready === true);
  await idle(page);
}

// typeAndFit measures the wall view's type (computed font sizes in px) and lists
// the panels that do not fit in the viewport.
const typeAndFit = (page) => page.evaluate(() => {
  const size = (sel) => {
    const e = document.querySelector(sel);
    return e ? parseFloat(getComputedStyle(e).fontSize) : null;
  };
  const overflow = [];
  for (const sel of ['#topbar', '#left', '#right', '#alerts-panel', '#flood-panel', '#counts', '#legend']) {
    const e = document.querySelector(sel);
    if (!e || e.closest('[hidden]')) continue;
    const r = e.getBoundingClientRect();
    if (r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5) {
      overflow.push({ sel, rect: [r.left, r.top, r.right, r.bottom].map(Math.round) });
    }
    // Content cut off sideways (the panels scroll only up and down).
    if (e.scrollWidth > e.clientWidth + 1) overflow.push({ sel, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth });
  }
  return {
    viewport: [innerWidth, innerHeight], root: size('html'), title: size('#topbar h1'), clock: size('#clock'),
    alertName: size('#alerts-list .alert .alert-name'), alertTime: size('#alerts-list .alert .alert-time'),
    count: size('#counts .count-n'), legend: size('#legend .lg'), overflow,
  };
});
const profile = mkdtempSync(join(tmpdir(), 'riskmap-chromium-'));
let context;
try {
  const t0 = Date.now();
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: chromiumArgs, viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1,
    timezoneId: 'Asia/Shanghai', locale: 'zh-CN',
  });
  report.chromium = context.browser()?.version() ?? '';
  report.launchMs = Date.now() - t0;
  const page = context.pages()[0] ?? await context.newPage();
  watch(page);
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));

  // 1. Load, idle.
  let t = Date.now();
  await load(page);
  step('idle', { ms: Date.now() - t, conn: await page.evaluate(() => window.riskmap.conn) });

  if (opts.mode === 'gcj02') {
    await gcj02Checks(page, requests);
  } else {

  // 2. Rendered features of each layer: the district, then Dongmen at 16.
  report.layers.overview = await countLayers(page);
  await page.evaluate(() => window.map.jumpTo({ center: [114.112, 22.55], zoom: 16 }));
  await idle(page);
  report.layers.z16 = await countLayers(page);

  // 3. Click a waterlogging spot: the popup shows its name.
  const target = await page.evaluate(() => {
    const fs = window.map.queryRenderedFeatures({ layers: ['waterlogging-spots', 'resources'] });
    const w = window.map.getContainer().clientWidth, h = window.map.getContainer().clientHeight;
    for (const f of fs) {
      const p = window.map.project(f.geometry.coordinates);
      // Not under a panel: the middle of the screen.
      if (p.x > w * 0.25 && p.x < w * 0.6 && p.y > 150 && p.y < h - 100) return { x: p.x, y: p.y, name: f.properties.name, layer: f.sourceLayer, id: f.properties.id };
    }
    return null;
  });
  if (target) {
    await page.mouse.click(target.x, target.y);
    await page.waitForSelector('.maplibregl-popup .popup-name');
    const name = await page.textContent('.maplibregl-popup .popup-name');
    await page.waitForTimeout(800); // the popup fills in its sensors and pans clear of the top bar
    const clear = await page.evaluate(() => ({
      popupTop: document.querySelector('.maplibregl-popup').getBoundingClientRect().top,
      topbarBottom: document.getElementById('topbar').getBoundingClientRect().bottom,
    }));
    step('popup', { clicked: target, popupName: name, ...clear });
    await shoot(page, 'wall-popup.png');
    await page.evaluate(() => document.querySelector('.maplibregl-popup-close-button')?.click());
  } else {
    step('popup', { clicked: null });
  }

  // 4. The wall view of the district.
  await page.evaluate(() => window.riskmap.home());
  await idle(page);
  await shoot(page, 'wall-view.png');

  // 5. A reading over a threshold: the alert is in the panel within 2 s.
  const { sensors } = await api('GET', '/api/v1/sensors?layer=waterlogging_spots');
  const sensor = sensors.find((s) => s.kind === 'water_depth_cm' && s.thresholds && s.active);
  const before = await page.evaluate(() => [...document.querySelectorAll('#alerts-list .alert')].map((e) => e.dataset.id));
  const value = Math.min(sensor.range_max, sensor.thresholds.red + 5);
  t = Date.now();
  await api('POST', '/api/v1/readings', [{ sensor_id: sensor.id, time: new Date().toISOString(), value }]);
  const posted = Date.now();
  // The row counts once it names the object (the name is looked up as it arrives).
  const alertInfo = await page.evaluate(({ before, name }) => new Promise((ok) => {
    const t0 = performance.now();
    const look = () => {
      for (const e of document.querySelectorAll('#alerts-list .alert')) {
        if (!before.includes(e.dataset.id) && e.dataset.level === 'red' && e.textContent.includes(name)) {
          return ok({ ms: performance.now() - t0, id: e.dataset.id, text: e.textContent, index: [...e.parentNode.children].indexOf(e), drill: e.dataset.drill });
        }
      }
      if (performance.now() - t0 > 10000) return ok(null);
      requestAnimationFrame(look);
    };
    look();
  }), { before, name: sensor.object?.name ?? '' });
  step('alert', { sensor: sensor.id, feature: sensor.feature_id, object: sensor.object?.name, value, postMs: posted - t, totalMs: alertInfo ? Date.now() - t : null, found: alertInfo });

  // 5b. The wall view at 3840×2160 next to 1920×1080, with the alert in the panel:
  // the type scales with the screen and every panel fits.
  {
    const hd = await typeAndFit(page);
    const big = await context.newPage();
    watch(big);
    await big.setViewportSize({ width: 3840, height: 2160 });
    await load(big);
    await big.waitForSelector('#alerts-list .alert .alert-name');
    await big.waitForTimeout(500);
    const uhd = await typeAndFit(big);
    step('4k', { hd, uhd });
    await shoot(big, 'wall-view-4k.png');
    await big.close();
  }

  // 6. The typhoon signal: the flood view, its list in order.
  t = Date.now();
  await api('PUT', '/api/v1/signals/typhoon', { level: 'orange', by: 'e2e', note: 'wall map test' });
  await page.waitForFunction(() => document.body.classList.contains('flood') && document.querySelectorAll('#flood-list .flood-row').length > 0);
  await page.waitForTimeout(600); // the list redraws at most every 250 ms
  const floodList = await page.evaluate(() => [...document.querySelectorAll('#flood-list .flood-row')].map((e) => ({
    id: Number(e.dataset.id), rank: Number(e.dataset.rank), depth: Number(e.dataset.depth), name: e.dataset.name,
  })));
  step('flood', { ms: Date.now() - t, rows: floodList.length, top: floodList.slice(0, 5), list: floodList,
    signal: await page.evaluate(() => document.querySelector('.signal[data-kind=typhoon]')?.dataset.level) });

  // 7. The storm drill, and the flood view during it.
  if (opts.simulate) {
    const argv = JSON.parse(opts.simulate);
    t = Date.now();
    const code = await new Promise((ok) => {
      const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env } });
      p.on('exit', (c) => ok(c));
    });
    await page.waitForFunction(() => window.riskmap.drill === true, null, { timeout: 20000 }).catch(() => {});
    await page.waitForTimeout(3000); // the tiles refresh at most every 1.5 s
    await idle(page, 15000).catch(() => {});
    const drillRows = await page.evaluate(() => document.querySelectorAll('#flood-list .flood-row.drill').length);
    const drillAlerts = await page.evaluate(() => document.querySelectorAll('#alerts-list .alert.drill').length);
    step('drill', { ms: Date.now() - t, exit: code, drill: await page.evaluate(() => window.riskmap.drill), drillRows, drillAlerts });
    await shoot(page, 'flood-view.png');
  }

  // 8. Server gone is the test's business (it stops the server); no WebGL here.
  const nogl = await context.newPage();
  await nogl.addInitScript(() => {
    const orig = HTMLCanvasElement.prototype.getContext;
    HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
      if (/webgl/i.test(type)) return null;
      return orig.call(this, type, ...rest);
    };
  });
  const noglErrors = [];
  nogl.on('pageerror', (e) => noglErrors.push(String(e)));
  await nogl.goto(server + '/');
  await nogl.waitForSelector('#no-webgl:not([hidden])', { timeout: 15000 }).catch(() => {});
  step('nowebgl', {
    message: await nogl.evaluate(() => (document.getElementById('no-webgl').hidden ? '' : document.getElementById('no-webgl').textContent)),
    pageErrors: noglErrors,
  });
  await nogl.close();

  // 9. The server goes away: the last picture stays under a "disconnected" banner.
  if (opts['stop-url']) {
    const before = await countLayers(page);
    stopped = true;
    t = Date.now();
    await fetch(opts['stop-url'], { method: 'POST' });
    await page.waitForSelector('#banner:not([hidden])', { timeout: 30000 }).catch(() => {});
    const banner = await page.evaluate(() => (document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent));
    await page.waitForTimeout(1000);
    const after = await countLayers(page);
    step('disconnected', { ms: Date.now() - t, banner, conn: await page.evaluate(() => window.riskmap.conn), before, after });
    await shoot(page, 'disconnected.png');
  }
  }
} catch (err) {
  report.error = String(err?.stack ?? err);
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.error ? 1 : 0);
