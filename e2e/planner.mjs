// planner.mjs: drive the wall map's planner and dispatch tools in a real Chromium
// and report what the page showed next to what the API answers for the same query,
// for planner_browser_test.go. Runnable by hand against a running server with the
// demo data:
//
//   RISKMAP_CHROMIUM=/usr/bin/chromium RISKMAP_WRITE_TOKEN=... node e2e/planner.mjs \
//     --server http://127.0.0.1:8080 --out .tmp/e2e/planner
//
// Steps: open the planner; a circle around typed WGS84 coordinates (the page's rows
// by group, the API's report for the same site); the CSV, GeoJSON and briefing of it;
// the same site typed in GCJ-02; a polygon and a route drawn with the mouse (the page
// against POST /api/v1/report with the clicked positions), the polygon's CSV and
// briefing (POST, saved from a Blob); Escape back to the wall map; the search box;
// the dispatch panel (an incident clicked on the map, the rows by kind against GET
// /api/v1/dispatch, the lines to the checked resources, a minimum shelter capacity).
// Prints one JSON report; exits 1 only when it could not run.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    timeout: { type: 'string', default: '90000' },
    // gcj02: the page of a server with --basemap-crs gcj02 (the map in GCJ-02): a
    // clicked site, polygon and incident go to the API in the right coordinates and
    // are drawn where they were clicked.
    mode: { type: 'string', default: 'full' },
  },
});
const executablePath = process.env.RISKMAP_CHROMIUM;
if (!opts.server || !executablePath) {
  console.error('usage: RISKMAP_CHROMIUM=... node planner.mjs --server URL [--out DIR] [--screenshots DIR]');
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

const report = { chromium: '', steps: [], consoleErrors: [], pageErrors: [], failedRequests: [], screenshots: [] };
const step = (name, data = {}) => report.steps.push({ name, ...data });

async function api(method, path, body) {
  const resp = await fetch(server + path, {
    method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return JSON.parse(text);
}

async function shoot(page, name, outOnly = false) {
  const buf = await page.screenshot();
  for (const d of outOnly ? [outDir] : shotDirs) {
    writeFileSync(join(d, name), buf);
    report.screenshots.push(join(d, name));
  }
}

const idle = (page, ms = timeout) => page.evaluate((ms) => new Promise((ok, fail) => {
  const timer = setTimeout(() => fail(new Error(`no map idle within ${ms} ms`)), ms);
  window.map.once('idle', () => { clearTimeout(timer); ok(); });
  window.map.triggerRepaint();
}), ms);

function watch(page) {
  page.setDefaultTimeout(timeout);
  page.on('response', (r) => { if (r.status() >= 400) report.failedRequests.push({ url: r.url(), status: r.status() }); });
  page.on('requestfailed', (r) => {
    // The event stream is cut when the page closes; a download's navigation is not a page load.
    if (!r.url().includes('/api/v1/events') && r.failure()?.errorText !== 'net::ERR_ABORTED') {
      report.failedRequests.push({ url: r.url(), error: r.failure()?.errorText ?? 'failed' });
    }
  });
  page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => report.pageErrors.push(`${page.url()}: ${e}`));
}

// sub is the group of a feature inside its layer, as the planner groups them: the
// risk grade where the layer has one, else the warning level where it has one.
let registry = null;
function sub(p) {
  const l = registry.layers.find((x) => x.name === p.layer);
  if (l?.fields.some((f) => f.name === 'risk_grade')) return p.risk_grade ?? '';
  if (l?.fields.some((f) => f.name === 'warning_level')) return p.warning_level ?? 'none';
  return '';
}

// apiSide is what the test compares the page with: the report's features in order.
const apiSide = (r) => ({
  total: r.total, area: r.area, byLayer: r.by_layer,
  features: (r.features?.features ?? []).map((f) => ({
    layer: f.properties.layer, id: f.properties.id, sub: sub(f.properties), d: f.properties.distance_m, name: f.properties.name,
  })),
});

// pageSide reads the planner's result rows by group, and the report it holds.
const pageSide = (page) => page.evaluate(() => {
  const box = document.querySelector('#tool-body .results');
  const groups = [...box.querySelectorAll('.groups .rows[data-group]')].map((g) => ({
    key: g.dataset.group, total: Number(g.dataset.total),
    rows: [...g.querySelectorAll('.res-row')].map((r) => ({
      layer: r.dataset.layer, id: Number(r.dataset.id), d: Number(r.dataset.distance), text: r.querySelector('.res-dist').textContent,
    })),
  }));
  const p = window.riskmap.tools.tools.planner;
  return {
    total: Number(box.dataset.total), groups, request: p.lastRequest, area: p.report?.area,
    drawn: window.riskmap.tools.overlay.features('planner').map((f) => f.properties.role),
    summary: box.querySelector('.summary')?.textContent,
  };
});

// waitResults waits until the planner shows the results of a new query.
async function waitResults(page, before) {
  await page.waitForFunction((before) => {
    const p = window.riskmap.tools.tools.planner;
    return !p.busy && p.report && p.report !== before && document.querySelector('#tool-body .results[data-total]');
  }, before);
  await page.waitForTimeout(300);
}
const currentReport = (page) => page.evaluateHandle(() => window.riskmap.tools.tools.planner.report);

// download clicks a download link of the results and reads the file.
async function download(page, format, save) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`#tool-body .downloads a[data-format=${format}]`)]);
  const file = join(outDir, save);
  await dl.saveAs(file);
  const bytes = readFileSync(file);
  let utf8 = true;
  try { new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { utf8 = false; }
  return { file, suggested: dl.suggestedFilename(), size: bytes.length, head: bytes.subarray(0, 3).toString('hex'), utf8 };
}

// briefing clicks the briefing link and reads the tab it opens.
async function briefing(page, context, shot) {
  const [tab] = await Promise.all([context.waitForEvent('page'), page.click('#tool-body .downloads a[data-format=html]')]);
  watch(tab);
  await tab.waitForLoadState('load');
  await tab.waitForFunction(() => document.body && document.body.textContent.trim().length > 0);
  const info = await tab.evaluate(() => ({
    url: location.href.slice(0, 60), title: document.title, svg: document.querySelectorAll('svg').length,
    text: document.body.innerText.slice(0, 4000), charset: document.characterSet,
  }));
  const buf = await tab.screenshot({ fullPage: true });
  writeFileSync(join(outDir, shot), buf);
  report.screenshots.push(join(outDir, shot));
  await tab.close();
  return info;
}

// gcj02Checks: on a GCJ-02 map, a site clicked for the planner goes to the API in
// WGS84 (the page converts it back) and its ring is drawn where it was clicked; a
// polygon's clicked corners go as they are with crs=gcj02 (the server converts them);
// an incident clicked for dispatch goes in WGS84 and its lines start where it was
// clicked. Each page's answer is set beside the API's for the same query.
async function gcj02Checks(page) {
  const cfg = await page.evaluate(() => window.riskmap.cfg.crs);
  await page.evaluate(async () => {
    const { wgs84ToGcj02 } = await import('/app/js/util.js');
    window.map.jumpTo({ center: wgs84ToGcj02([114.12, 22.55]), zoom: 16 });
  });
  await idle(page);
  const toGCJ = (p) => page.evaluate(async (p) => (await import('/app/js/util.js')).wgs84ToGcj02(p), p);
  const unproject = (ps) => page.evaluate((ps) => ps.map(([x, y]) => window.map.unproject([x, y]).toArray()), ps);

  // The planner's site.
  await page.click('#tool-planner');
  await page.fill('#tool-body input[name=radius]', '250');
  const [clicked] = await unproject([[960, 540]]);
  let before = await currentReport(page);
  await page.mouse.click(960, 540);
  await waitResults(page, before);
  const site = await pageSide(page);
  const q = new URL(site.request.url, server).searchParams;
  const wgs = [Number(q.get('lon')), Number(q.get('lat'))];
  const drawnSite = await page.evaluate(() => window.riskmap.tools.overlay.features('planner').find((f) => f.properties.role === 'site')?.geometry.coordinates);
  step('gcj02-site', {
    crs: cfg, clicked, sent: wgs, sentCRS: q.get('crs'), shifted: await toGCJ(wgs), drawnSite, page: site,
    api: apiSide(await api('GET', `/api/v1/report?lon=${q.get('lon')}&lat=${q.get('lat')}&radius=250`)),
  });

  // A polygon.
  await page.click('#tool-body [data-mode=polygon]');
  const corners = [[800, 350], [1150, 330], [1180, 700], [820, 720]];
  const cornersMap = await unproject(corners);
  before = await currentReport(page);
  for (const [x, y] of corners.slice(0, 3)) {
    await page.mouse.click(x, y);
    await page.waitForTimeout(120);
  }
  await page.mouse.dblclick(...corners[3]);
  await waitResults(page, before);
  const poly = await pageSide(page);
  const area = await page.evaluate(() => window.riskmap.tools.tools.planner.report.area.geometry.coordinates[0]);
  step('gcj02-polygon', {
    corners: cornersMap, page: poly, areaShifted: await Promise.all(area.map(toGCJ)),
    api: apiSide(await api('POST', '/api/v1/report?crs=gcj02', { geometry: { type: 'Polygon', coordinates: [[...cornersMap, cornersMap[0]]] } })),
  });
  await page.keyboard.press('Escape');

  // A dispatch incident.
  await page.click('#tool-dispatch');
  await page.click('#tool-body button[name=mark]');
  const [incMap] = await unproject([[960, 560]]);
  await page.mouse.click(960, 560);
  await page.waitForFunction(() => window.riskmap.tools.tools.dispatch.result && !window.riskmap.tools.tools.dispatch.busy);
  const d = await page.evaluate(() => {
    const t = window.riskmap.tools;
    const links = t.overlay.features('dispatch').filter((f) => f.properties.role === 'link');
    const rows = {};
    for (const g of document.querySelectorAll('#tool-body .rows[data-kind]')) rows[g.dataset.kind] = [...g.querySelectorAll('.res-row')].map((r) => Number(r.dataset.id));
    return { incident: t.tools.dispatch.incident, url: t.tools.dispatch.lastURL, linkStarts: links.map((f) => f.geometry.coordinates[0]), rows };
  });
  const dAPI = await api('GET', d.url);
  step('gcj02-dispatch', {
    clicked: incMap, ...d, shifted: await toGCJ(d.incident),
    api: Object.fromEntries(Object.entries(dAPI.resources).map(([k, fc]) => [k, fc.features.map((f) => f.properties.id)])),
  });
  await idle(page);
  await shoot(page, 'dispatch-gcj02.png', true);
}

const profile = mkdtempSync(join(tmpdir(), 'riskmap-chromium-'));
let context;
try {
  const t0 = Date.now();
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: chromiumArgs, viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1,
    timezoneId: 'Asia/Shanghai', locale: 'zh-CN', acceptDownloads: true,
  });
  report.chromium = context.browser()?.version() ?? '';
  report.launchMs = Date.now() - t0;
  registry = await api('GET', '/api/v1/layers');
  const page = context.pages()[0] ?? await context.newPage();
  watch(page);
  await page.goto(server + '/');
  await page.waitForFunction(() => window.riskmap?.ready === true);
  await idle(page);

  if (opts.mode === 'gcj02') {
    await gcj02Checks(page);
  } else {
  // 1. The planner opens in place of the counts; a circle around typed coordinates.
  await page.click('#tool-planner');
  const opened = await page.evaluate(() => ({
    panel: !document.getElementById('tool-panel').hidden, left: getComputedStyle(document.getElementById('left')).display,
    title: document.getElementById('tool-title').textContent,
  }));
  const site = [114.12, 22.55];
  const radius = 300;
  let before = await currentReport(page);
  await page.fill('#tool-body input[name=coords]', `${site[0]},${site[1]}`);
  await page.fill('#tool-body input[name=radius]', String(radius));
  await page.click('#tool-body button[name=run]');
  await waitResults(page, before);
  await idle(page);
  const circle = await pageSide(page);
  const circleAPI = apiSide(await api('GET', `/api/v1/report?lon=${site[0]}&lat=${site[1]}&radius=${radius}`));
  step('circle', { opened, page: circle, api: circleAPI });
  await shoot(page, 'planner.png');

  // 2. Its downloads: CSV and GeoJSON (links to GET /api/v1/report), the briefing.
  const csv = await download(page, 'csv', 'circle.csv');
  const gj = await download(page, 'geojson', 'circle.geojson');
  const geo = JSON.parse(readFileSync(gj.file, 'utf8'));
  const brief = await briefing(page, context, 'briefing-circle.png');
  step('circle-downloads', {
    csv, geojson: { ...gj, type: geo.type, features: geo.features?.length, reportTotal: geo.report?.total }, briefing: brief,
  });

  // 3. The same site typed in GCJ-02, as a Chinese map app shows it.
  const gcj = await page.evaluate(async (site) => (await import('/app/js/util.js')).wgs84ToGcj02(site), site);
  before = await currentReport(page);
  await page.selectOption('#tool-body select[name=crs]', 'gcj02');
  await page.fill('#tool-body input[name=coords]', `${gcj[0].toFixed(7)},${gcj[1].toFixed(7)}`);
  await page.click('#tool-body button[name=run]');
  await waitResults(page, before);
  const gcjPage = await pageSide(page);
  const gcjReport = await page.evaluate(() => window.riskmap.tools.tools.planner.report);
  step('gcj02', { typed: gcj, page: gcjPage, api: apiSide(gcjReport) });
  await page.selectOption('#tool-body select[name=crs]', 'wgs84');

  // 4. A polygon drawn with the mouse: three clicks and a double click.
  await page.click('#tool-body [data-mode=polygon]');
  const zoomBefore = await page.evaluate(() => window.map.getZoom());
  const corners = [[760, 330], [1180, 300], [1240, 720], [800, 760]];
  const polyLonLat = await page.evaluate((cs) => cs.map(([x, y]) => window.map.unproject([x, y]).toArray()), corners);
  before = await currentReport(page);
  for (const [x, y] of corners.slice(0, 3)) {
    await page.mouse.click(x, y);
    await page.waitForTimeout(120);
  }
  await page.mouse.dblclick(...corners[3]);
  await waitResults(page, before);
  const zoomAfter = await page.evaluate(() => window.map.getZoom());
  const poly = await pageSide(page);
  const polyAPI = apiSide(await api('POST', '/api/v1/report', { geometry: { type: 'Polygon', coordinates: [[...polyLonLat, polyLonLat[0]]] } }));
  await idle(page);
  await shoot(page, 'planner-polygon.png', true);
  const polyCSV = await download(page, 'csv', 'polygon.csv');
  const polyBrief = await briefing(page, context, 'briefing-polygon.png');
  step('polygon', { corners: polyLonLat, zoomBefore, zoomAfter, page: poly, api: polyAPI, csv: polyCSV, briefing: polyBrief });

  // 5. A route with a 150 m buffer: three clicks and the finish button.
  await page.click('#tool-body [data-mode=route]');
  await page.fill('#tool-body input[name=buffer]', '150');
  const stops = [[700, 420], [960, 600], [1250, 480]];
  const routeLonLat = await page.evaluate((cs) => cs.map(([x, y]) => window.map.unproject([x, y]).toArray()), stops);
  before = await currentReport(page);
  for (const [x, y] of stops) {
    await page.mouse.click(x, y);
    await page.waitForTimeout(120);
  }
  await page.click('#tool-body button[name=finish]');
  await waitResults(page, before);
  const route = await pageSide(page);
  const routeAPI = apiSide(await api('POST', '/api/v1/report', { geometry: { type: 'LineString', coordinates: routeLonLat }, buffer_m: 150 }));
  await idle(page);
  await shoot(page, 'planner-route.png', true);
  step('route', { stops: routeLonLat, page: route, api: routeAPI });

  // 6. A row flies to its object and opens its popup.
  const row = await page.evaluate(() => {
    const r = document.querySelector('#tool-body .groups .res-row');
    return { layer: r.dataset.layer, id: r.dataset.id, name: r.querySelector('.res-name').textContent };
  });
  await page.click('#tool-body .groups .res-row');
  await page.waitForSelector('.maplibregl-popup .popup-name');
  step('row-click', { row, popup: await page.textContent('.maplibregl-popup .popup-name'),
    popupId: await page.evaluate(() => document.querySelector('.maplibregl-popup .popup')?.dataset.id) });
  await page.evaluate(() => document.querySelector('.maplibregl-popup-close-button')?.click());

  // 7. Escape: back to the plain wall map.
  await page.keyboard.press('Escape');
  await page.waitForTimeout(200);
  step('escape', await page.evaluate(() => ({
    panel: !document.getElementById('tool-panel').hidden, left: getComputedStyle(document.getElementById('left')).display,
    active: window.riskmap.tools.active, drawn: window.riskmap.tools.overlay.features('planner').length,
  })));

  // 8. The search box flies to what it finds.
  const q = '东门';
  const sr = await api('GET', `/api/v1/search?q=${encodeURIComponent(q)}&limit=12`);
  await page.fill('#search-input', q);
  await page.waitForSelector('#search-results .search-row');
  const listed = await page.evaluate(() => [...document.querySelectorAll('#search-results .search-row')].map((r) => Number(r.dataset.id)));
  await page.keyboard.press('Enter');
  await page.waitForSelector('.maplibregl-popup .popup-name');
  await page.waitForFunction(() => !window.map.isMoving());
  step('search', {
    api: sr.results.map((r) => ({ id: r.id, name: r.name, lon: r.lon, lat: r.lat })), listed,
    popup: await page.textContent('.maplibregl-popup .popup-name'),
    ...await page.evaluate((r) => ({
      zoom: window.map.getZoom(), at: ((p) => [p.x, p.y])(window.map.project([r.lon, r.lat])),
      canvas: [window.map.getContainer().clientWidth, window.map.getContainer().clientHeight],
    }), sr.results[0]),
  });
  await page.evaluate(() => document.querySelector('.maplibregl-popup-close-button')?.click());

  // 9. Dispatch: mark an incident on the map.
  await page.evaluate(() => window.map.jumpTo({ center: [114.1195, 22.5505], zoom: 15 }));
  await idle(page);
  await page.click('#tool-dispatch');
  await page.click('#tool-body button[name=mark]');
  const where = [960, 560];
  const clickedAt = await page.evaluate(([x, y]) => window.map.unproject([x, y]).toArray(), where);
  await page.mouse.click(...where);
  const readDispatch = () => page.evaluate(() => {
    const d = window.riskmap.tools.tools.dispatch;
    const kinds = {};
    for (const g of document.querySelectorAll('#tool-body .rows[data-kind]')) {
      kinds[g.dataset.kind] = [...g.querySelectorAll('.res-row')].map((r) => ({
        id: Number(r.dataset.id), d: Number(r.dataset.distance), checked: r.querySelector('input').checked, text: r.querySelector('.res-dist').textContent,
      }));
    }
    return {
      incident: d.incident, url: d.lastURL, kinds, order: Object.keys(kinds),
      links: window.riskmap.tools.overlay.features('dispatch').filter((f) => f.properties.role === 'link').map((f) => ({ kind: f.properties.kind, id: f.properties.id, d: f.properties.distance_m })),
      labels: [...document.querySelectorAll('.dist-label')].map((e) => e.textContent),
      risks: [...document.querySelectorAll('#tool-body .risks .count-line')].map((e) => ({ layer: e.dataset.layer, n: e.querySelector('.cl-n').textContent })),
    };
  });
  await page.waitForFunction(() => window.riskmap.tools.tools.dispatch.result && !window.riskmap.tools.tools.dispatch.busy);
  await page.waitForTimeout(900); // the map fits the incident and its resources
  await idle(page);
  const disp = await readDispatch();
  const [lon, lat] = disp.incident;
  const dispAPI = await api('GET', `/api/v1/dispatch?lon=${lon.toFixed(7)}&lat=${lat.toFixed(7)}&radius=1000&per_kind=3&shelter_open=true`);
  const apiKinds = Object.fromEntries(Object.entries(dispAPI.resources).map(([k, fc]) => [k, fc.features.map((f) => ({
    id: f.properties.id, d: f.properties.distance_m, capacity: f.properties.capacity, open: f.properties.open,
  }))]));
  await shoot(page, 'dispatch.png');
  step('dispatch', { clickedAt, page: disp, api: { kinds: apiKinds, risks: dispAPI.risks, totals: dispAPI.totals } });

  // 10. Uncheck a line; shelters for at least 2,000 people.
  await page.click('#tool-body .rows[data-kind] .res-row input:checked');
  const unchecked = await readDispatch();
  await page.fill('#tool-body input[name=minCapacity]', '2000');
  await page.press('#tool-body input[name=minCapacity]', 'Enter');
  await page.waitForFunction((u) => window.riskmap.tools.tools.dispatch.lastURL !== u && !window.riskmap.tools.tools.dispatch.busy, disp.url);
  await page.waitForTimeout(300);
  const capped = await readDispatch();
  const cappedAPI = await api('GET', capped.url);
  step('dispatch-capacity', {
    unchecked: { links: unchecked.links.length, labels: unchecked.labels.length }, url: capped.url,
    shelters: capped.kinds.shelter, api: cappedAPI.resources.shelter.features.map((f) => ({ id: f.properties.id, d: f.properties.distance_m, capacity: f.properties.capacity, open: f.properties.open })),
  });

  // 11. English: the panel's words follow the language switch.
  await page.click('#lang-toggle');
  await page.waitForTimeout(300);
  step('english', await page.evaluate(() => ({
    title: document.getElementById('tool-title').textContent, mark: document.querySelector('#tool-body button[name=mark]').textContent,
    planner: document.getElementById('tool-planner').textContent, labels: [...document.querySelectorAll('.dist-label')].map((e) => e.textContent),
  })));
  await page.click('#lang-toggle');
  await page.keyboard.press('Escape');
  step('closed', await page.evaluate(() => ({ active: window.riskmap.tools.active, labels: document.querySelectorAll('.dist-label').length })));
  }
} catch (err) {
  report.error = String(err?.stack ?? err);
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
// The report is large: exit once it is written (process.exit could cut a pipe short).
process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(report.error ? 1 : 0));
