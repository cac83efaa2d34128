// drawn.mjs: open the riskmap test page in a real Chromium and report, per view, how
// many rendered features every layer of the style has (map.queryRenderedFeatures), with
// a screenshot of each view. Used by tiles_browser_test.go; runnable by hand against a
// server that serves the API, e2e/testdata/map.html at /e2e/map.html and MapLibre's
// dist folder at /maplibre/:
//
//   RISKMAP_CHROMIUM=/usr/bin/chromium node e2e/drawn.mjs \
//     --page http://127.0.0.1:8080/e2e/map.html --out .tmp/e2e
//
// Options: --page URL (required), --out DIR (screenshots, default .), --views JSON (a list
// of {name, lon, lat, zoom}; default below), --timeout MS (per view, default 30000).
// Prints one JSON document to stdout; exits 1 on a failure to run (not on what it saw:
// judging the counts is the caller's business).
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

import { chromiumArgs } from './chromium.mjs';

// The default views: the district at zoom 12 (risk points as clusters), the centre of
// Luohu at 14 (clusters and points mixed), and Dongmen/Guiyuan at 16, where every layer
// has features in the demo data (individual risk points, slope outlines and a slope
// stored as a point, roads, waterlogging spots, resources).
const defaultViews = [
  { name: 'z12', lon: 114.13, lat: 22.56, zoom: 12 },
  { name: 'z14', lon: 114.13, lat: 22.56, zoom: 14 },
  { name: 'z16', lon: 114.112, lat: 22.55, zoom: 16 },
];

// Flags that work on a machine without GPU and make no outside DNS look-ups
// (see BROWSER-TESTING notes); Playwright adds --headless itself.

const { values: opts } = parseArgs({
  options: {
    page: { type: 'string' },
    out: { type: 'string', default: '.' },
    views: { type: 'string' },
    timeout: { type: 'string', default: '90000' },
  },
});
if (!opts.page) {
  console.error('usage: node drawn.mjs --page URL [--out DIR] [--views JSON] [--timeout MS]');
  process.exit(2);
}
const executablePath = process.env.RISKMAP_CHROMIUM;
if (!executablePath) {
  console.error('drawn.mjs: set RISKMAP_CHROMIUM to the Chromium binary (e.g. /usr/bin/chromium)');
  process.exit(2);
}
const views = opts.views ? JSON.parse(opts.views) : defaultViews;
const timeout = Number(opts.timeout);
const outDir = resolve(opts.out);
mkdirSync(outDir, { recursive: true });

const report = { chromium: '', page: opts.page, views: [], failedRequests: [], consoleErrors: [], pageErrors: [] };
const profile = mkdtempSync(join(tmpdir(), 'riskmap-chromium-'));
let context;
try {
  const t0 = Date.now();
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: chromiumArgs,
    viewport: { width: 1024, height: 768 }, deviceScaleFactor: 1,
  });
  report.chromium = context.browser()?.version() ?? '';
  report.launchMs = Date.now() - t0;
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(timeout);
  // Tile and TileJSON failures do not raise map error events: watch the network too.
  page.on('response', (r) => {
    if (r.status() >= 400) report.failedRequests.push({ url: r.url(), status: r.status() });
  });
  page.on('requestfailed', (r) => {
    report.failedRequests.push({ url: r.url(), error: r.failure()?.errorText ?? 'failed' });
  });
  page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));

  for (const [i, v] of views.entries()) {
    const t = Date.now();
    if (i === 0) {
      const u = new URL(opts.page);
      u.searchParams.set('lon', v.lon);
      u.searchParams.set('lat', v.lat);
      u.searchParams.set('zoom', v.zoom);
      await page.goto(u.href);
      await page.waitForFunction(() => window.map || window.mapLoadError);
      const loadError = await page.evaluate(() => window.mapLoadError);
      if (loadError) throw new Error('the page could not create the map: ' + loadError);
      await page.evaluate((ms) => new Promise((ok, fail) => {
        const map = window.map;
        const timer = setTimeout(() => fail(new Error(`no idle within ${ms} ms`)), ms);
        // idle fires after a frame once every tile is loaded; the repaint makes sure
        // there is such a frame when the map is already settled.
        map.once('idle', () => { clearTimeout(timer); ok(); });
        map.triggerRepaint();
      }), timeout);
    } else {
      await page.evaluate(({ v, ms }) => new Promise((ok, fail) => {
        const map = window.map;
        const timer = setTimeout(() => fail(new Error(`no idle within ${ms} ms`)), ms);
        map.once('idle', () => { clearTimeout(timer); ok(); });
        map.jumpTo({ center: [v.lon, v.lat], zoom: v.zoom });
      }), { v, ms: timeout });
    }
    const idleMs = Date.now() - t;
    const drawn = await page.evaluate(() => {
      const map = window.map;
      const layers = {};
      for (const l of map.getStyle().layers) {
        const fs = map.queryRenderedFeatures({ layers: [l.id] });
        const info = { type: l.type, rendered: fs.length, geometryTypes: {}, grades: {} };
        let clusterPoints = 0;
        for (const f of fs) {
          info.geometryTypes[f.geometry.type] = (info.geometryTypes[f.geometry.type] ?? 0) + 1;
          const g = f.properties.risk_grade;
          if (g !== undefined) info.grades[g] = (info.grades[g] ?? 0) + 1;
          if (f.properties.cluster === true) {
            clusterPoints += f.properties.count;
            info.maxCount = Math.max(info.maxCount ?? 0, f.properties.count);
          }
        }
        if (clusterPoints) info.clusterPoints = clusterPoints;
        if (fs.length) info.sample = fs[0].properties;
        layers[l.id] = info;
      }
      return { zoom: map.getZoom(), center: map.getCenter().toArray(), bounds: map.getBounds().toArray(), layers, mapErrors: window.mapErrors.splice(0) };
    });
    const screenshot = join(outDir, `tiles-${v.name}.png`);
    await page.screenshot({ path: screenshot });
    report.views.push({ name: v.name, ...drawn, idleMs, screenshot });
  }
} catch (err) {
  report.error = String(err?.stack ?? err);
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(report, null, 2));
process.exit(report.error ? 1 : 0);
