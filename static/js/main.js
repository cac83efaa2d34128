// riskmap's wall map: the page app. It reads the page configuration (GET
// /api/v1/config), the layer registry (GET /api/v1/layers, for every label) and
// riskmap's MapLibre style, draws the offline basemap under the layers, and keeps
// everything live from the event stream. window.map is the MapLibre map (for tests
// and for operators' debugging); window.riskmap holds the page's state.

import { AlertsPanel } from './alerts.js';
import { canEdit, checkSession, identity, onIdentity, signIn, signOut, writeFetch } from './auth.js';
import { FloodList } from './flood.js';
import {
  applyStatic, codeLabel, getLang, gradeColor, gradeLabel, layerTitle, levelColor, levelLabel, onLang, setLang, setRegistry, t,
} from './i18n.js';
import { LiveStream } from './live.js';
import { featureBody } from './popup.js';
import { setupSearch } from './search.js';
import { setupTools } from './tools.js';
import { center, clockTime, el, gcj02ToWgs84, getJSON, wgs84ToGcj02 } from './util.js';

const $ = (id) => document.getElementById(id);
const state = {
  conn: null, lastLive: null, signals: {}, floodManual: null, flood: false, drill: false, cfg: null, mapOK: false,
};
window.riskmap = state;

// retry calls fn until it succeeds, showing that the server cannot be reached.
async function retry(fn) {
  for (let wait = 1000; ; wait = Math.min(wait * 2, 15000)) {
    try {
      const v = await fn();
      $('fatal-server').hidden = true;
      return v;
    } catch (err) {
      $('fatal-server').hidden = false;
      $('fatal-server').textContent = t('server_down');
      console.warn('riskmap:', err.message ?? err);
      await new Promise((ok) => setTimeout(ok, wait));
    }
  }
}

// ---- sign in ------------------------------------------------------------------------
// The top bar's 登录 Sign in button opens the dialog: a token is exchanged for an
// HttpOnly session cookie (auth.js); signed in, it shows who and the role, and Sign
// out. Editors and admins get the edit controls (acknowledging alerts, setting the
// signals); viewers and anonymous visitors see none.

let readNeedsSignIn = false;

function renderAuth() {
  const id = identity();
  const btn = $('auth-btn');
  btn.textContent = id ? `${id.name} · ${t('role_' + id.role)}` : t('sign_in');
  btn.dataset.role = id?.role ?? '';
  btn.classList.toggle('signed-in', !!id);
  document.body.classList.toggle('can-edit', canEdit());
  $('auth-signed-out').hidden = !!id;
  $('auth-signed-in').hidden = !id;
  if (id) $('auth-who').textContent = t('signed_in_as', { name: id.name, role: t('role_' + id.role) });
}

function openAuth(required = false) {
  const d = $('auth-dialog');
  $('auth-required').hidden = !required;
  $('auth-cancel').hidden = required;
  $('auth-error').hidden = true;
  renderAuth();
  if (!d.open) d.showModal();
  if (!identity()) $('auth-token').focus();
}

function setupAuth() {
  applyStatic($('auth-dialog'));
  $('auth-btn').addEventListener('click', () => openAuth(false));
  $('auth-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const tok = $('auth-token').value.trim();
    if (!tok) return;
    $('auth-submit').disabled = true;
    try {
      await signIn(tok);
      $('auth-token').value = '';
      $('auth-dialog').close();
    } catch (err) {
      $('auth-error').hidden = false;
      $('auth-error').textContent = t('sign_in_failed', { e: err.message ?? err });
    } finally {
      $('auth-submit').disabled = false;
    }
  });
  $('auth-cancel').addEventListener('click', () => $('auth-dialog').close());
  $('auth-close').addEventListener('click', () => $('auth-dialog').close());
  $('auth-signout').addEventListener('click', async () => {
    await signOut().catch(() => {});
    $('auth-dialog').close();
    // Reading needs a session on this server: start over at the sign-in dialog.
    if (readNeedsSignIn) location.reload();
  });
  // A required sign-in (reads need a viewer) cannot be dismissed with Escape.
  $('auth-dialog').addEventListener('cancel', (e) => { if ($('auth-cancel').hidden) e.preventDefault(); });
  onIdentity(renderAuth);
}

setupAuth();
await checkSession();
renderAuth();
{
  // When this server lets only signed-in users read (--read-access viewer), sign in
  // first.
  const probe = await fetch('/api/v1/config', { credentials: 'same-origin', cache: 'no-cache' }).catch(() => null);
  readNeedsSignIn = probe?.status === 401 || probe?.status === 403;
  if (probe?.status === 401) {
    openAuth(true);
    await new Promise((ok) => onIdentity((id) => { if (id) ok(); }));
  }
}

// toast shows a short message (a failed edit) for a few seconds.
function toast(msg) {
  const box = el('div', { class: 'toast', role: 'alert' }, msg);
  document.body.append(box);
  setTimeout(() => box.remove(), 6000);
}

// writeJSON sends an edit with the session (auth.js: the cookie and the CSRF token)
// and returns the answer's JSON; it throws with the server's message.
async function writeJSON(url, method, body) {
  const resp = await writeFetch(url, { method, body: JSON.stringify(body) });
  const data = await resp.json().catch(() => null);
  if (resp.status === 401) toast(t('session_ended'));
  if (!resp.ok) {
    const err = new Error(data?.error ?? String(resp.status));
    err.status = resp.status;
    err.body = data;
    throw err;
  }
  return data;
}

const cfg = await retry(() => getJSON('/api/v1/config'));
state.cfg = cfg;
const registry = await retry(() => getJSON('/api/v1/layers'));
setRegistry(registry);
document.documentElement.lang = getLang() === 'en' ? 'en' : 'zh-CN';
const toMap = cfg.crs === 'gcj02' ? wgs84ToGcj02 : (p) => p;
const fromMap = cfg.crs === 'gcj02' ? gcj02ToWgs84 : (p) => p;

// ---- the map -----------------------------------------------------------------

let map = null;
let maplibre = null;
const originals = new Map(); // "layer|paint property" → value before the flood view

async function makeMap() {
  const style = await retry(() => getJSON(cfg.style));
  if (cfg.crs === 'gcj02') style.sources.riskmap.url += (style.sources.riskmap.url.includes('?') ? '&' : '?') + 'crs=gcj02';
  const origin = location.origin;
  style.sources.basemap = { type: 'geojson', data: origin + cfg.outline };
  style.glyphs = origin + '/api/v1/glyphs/{fontstack}/{range}.pbf';
  const base = [{ id: 'background', type: 'background', paint: { 'background-color': '#0e1726' } }];
  if (cfg.raster_basemap) {
    style.sources.raster = {
      type: 'raster', tiles: [cfg.raster_basemap.url], tileSize: 256, maxzoom: cfg.raster_basemap.max_zoom,
      attribution: cfg.raster_basemap.attribution ?? '',
    };
    base.push({ id: 'raster', type: 'raster', source: 'raster', paint: { 'raster-brightness-max': 0.55, 'raster-saturation': -0.6 } });
  }
  base.push(
    { id: 'base-outside', type: 'fill', source: 'basemap', filter: ['==', ['get', 'role'], 'outside'], paint: { 'fill-color': '#05080f', 'fill-opacity': cfg.raster_basemap ? 0.45 : 0.75 } },
    { id: 'base-district', type: 'fill', source: 'basemap', filter: ['==', ['get', 'role'], 'outline'], paint: { 'fill-color': '#16233a', 'fill-opacity': cfg.raster_basemap ? 0 : 1 } },
    { id: 'base-outline', type: 'line', source: 'basemap', filter: ['==', ['get', 'role'], 'outline'], paint: { 'line-color': '#5fa8ff', 'line-width': 2.5, 'line-opacity': 0.9 } },
  );
  const labels = {
    id: 'base-labels', type: 'symbol', source: 'basemap', filter: ['==', ['get', 'role'], 'label'], minzoom: 12.5,
    layout: { 'text-field': ['get', 'name'], 'text-size': 13, 'text-font': ['sans-serif'], 'text-allow-overlap': false },
    paint: { 'text-color': '#7f93b3', 'text-halo-color': '#0e1726', 'text-halo-width': 1.5 },
  };
  // Drill rings: objects with a drill picture, drawn over the layers.
  const ring = (id, src, geomType) => ({
    id, type: 'circle', source: 'riskmap', 'source-layer': src,
    filter: ['all', ['has', 'drill_warning_level'], ['!=', ['get', 'drill_warning_level'], 'none'], ['==', ['geometry-type'], geomType]],
    paint: {
      'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#c58af9', 'circle-stroke-width': 2.5,
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 8, 16, 15],
    },
  });
  style.layers = [...base, ...style.layers, labels, ring('drill-spots', 'waterlogging_spots', 'Point'), ring('drill-slopes', 'slopes', 'Point')];
  maplibre = await import('/app/vendor/maplibre-gl/maplibre-gl.mjs');
  const b = cfg.bounds;
  const opts = {
    container: 'map-container', style, attributionControl: { compact: true }, fadeDuration: 0,
    localIdeographFontFamily: '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif',
    center: [114.13, 22.56], zoom: 12,
  };
  if (b) {
    const [w, s] = toMap([b[0], b[1]]);
    const [e, n] = toMap([b[2], b[3]]);
    opts.bounds = [[w, s], [e, n]];
    opts.fitBoundsOptions = { padding: { top: 90, bottom: 30, left: innerWidth * 0.2, right: innerWidth * 0.34 } };
  }
  const q = new URLSearchParams(location.search);
  if (q.has('lon') && q.has('lat')) {
    delete opts.bounds;
    opts.center = toMap([Number(q.get('lon')), Number(q.get('lat'))]);
    opts.zoom = Number(q.get('zoom') ?? 14);
  }
  map = new maplibre.Map(opts); // throws without WebGL 2
  window.map = map;
  state.mapOK = true;
  window.mapErrors = [];
  map.on('error', (e) => {
    const msg = String(e.error?.message ?? e.error ?? e);
    window.mapErrors.push(msg);
    console.warn('riskmap map:', msg);
  });
  map.on('load', () => {
    for (const l of map.getStyle().layers) {
      for (const [k, v] of Object.entries(l.paint ?? {})) originals.set(`${l.id}|${k}`, v);
    }
    applyModes();
  });
  map.on('click', onMapClick);
  const riskLayers = style.layers.filter((l) => l.source === 'riskmap').map((l) => l.id);
  map.on('mousemove', (e) => {
    map.getCanvas().style.cursor = map.queryRenderedFeatures(e.point, { layers: riskLayers }).length ? 'pointer' : '';
  });
  state.riskLayers = riskLayers;
  state.resourceColors = style.layers.find((l) => l.id === 'resources')?.paint?.['circle-color'];
  state.roadColors = style.layers.find((l) => l.id === 'rectified-roads')?.paint?.['line-color'];
  // home shows the whole district between the panels.
  state.home = () => opts.bounds && map.fitBounds(opts.bounds, { ...opts.fitBoundsOptions, animate: false });
}

try {
  await makeMap();
} catch (err) {
  // No WebGL 2 (MapLibre throws from its constructor): a readable message, and the
  // panels still work.
  console.warn('riskmap: no map:', err?.message ?? err);
  window.mapLoadError = String(err?.message ?? err);
  $('no-webgl').hidden = false;
  $('no-webgl').textContent = t('no_webgl');
  document.body.classList.add('no-map');
}

// ---- popups ------------------------------------------------------------------

let popup = null;

async function openPopup(layer, id, lngLat) {
  if (!map) return;
  popup?.remove();
  const p = new maplibre.Popup({ maxWidth: '32rem', className: 'rm-popup', closeOnClick: true }).setLngLat(lngLat)
    .setDOMContent(el('div', { class: 'muted' }, t('loading'))).addTo(map);
  popup = p;
  keepBelowTopbar(p);
  try {
    const { box } = await featureBody(layer, id);
    if (popup === p) p.setDOMContent(box);
  } catch (err) {
    if (popup === p) p.setDOMContent(el('div', {}, String(err.message ?? err)));
  }
}

// keepBelowTopbar pans the map whenever the popup (also as its content grows) would
// reach under the top bar, so the popup stays whole below it.
function keepBelowTopbar(p) {
  const box = p.getElement();
  if (!box || typeof ResizeObserver === 'undefined') return;
  const check = () => {
    if (popup !== p) return;
    const gap = $('topbar').getBoundingClientRect().bottom + 8 - box.getBoundingClientRect().top;
    if (gap > 1) map.panBy([0, -gap], { duration: 250 });
  };
  const ro = new ResizeObserver(check);
  ro.observe(box);
  p.once('close', () => ro.disconnect());
}

function onMapClick(e) {
  if (tools.onMapClick(e)) return; // the planner or dispatch panel took it
  const fs = map.queryRenderedFeatures(e.point, { layers: state.riskLayers });
  const f = fs.find((x) => !x.properties.cluster) ?? fs[0];
  if (!f) return;
  if (f.properties.cluster) {
    map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 16) });
    return;
  }
  openPopup(f.sourceLayer, f.properties.id ?? f.id, e.lngLat);
}

// ---- the planner and dispatch tools, the search box ----------------------------------

// A resource kind's color in the style (the style is the one source of colors).
function resourceColor(code) {
  const m = state.resourceColors;
  const i = Array.isArray(m) ? m.indexOf(code) : -1;
  return i > 0 ? m[i + 1] : '#999';
}

const tools = setupTools({
  map, maplibre, cfg, toMap, fromMap, openPopup, resourceColor, beforeId: state.riskLayers?.[0],
});
state.tools = tools;
const search = setupSearch($('search-input'), $('search-results'), (layer, id, lonlat) => {
  if (!map) return;
  const ll = toMap(lonlat);
  map.flyTo({ center: ll, zoom: Math.max(map.getZoom(), 16.5), speed: 1.8 });
  openPopup(layer, id, ll);
});

// ---- alerts ------------------------------------------------------------------

const names = new Map(); // layer/id → {name, lonlat}, bounded
// locate is where an alert's object is: from the alert's own object (the alert
// list carries it: a page opened on 300 open alerts makes no request per alert),
// else from the feature, fetched once.
async function locate(layer, id, object) {
  const k = `${layer}/${id}`;
  if (names.has(k)) return names.get(k);
  let w;
  if (object) {
    w = { name: object.name || k, lonlat: toMap([object.lon, object.lat]) };
  } else {
    const f = await getJSON(`/api/v1/features/${layer}/${id}`);
    const c = center(f.geometry);
    w = { name: f.properties?.name ?? k, lonlat: c ? toMap(c) : null };
  }
  names.set(k, w);
  if (names.size > 1000) names.delete(names.keys().next().value);
  return w;
}

const markers = new Map(); // key → Marker
function pulse(list) {
  if (!map) return;
  const want = new Set(list.map((p) => p.key));
  for (const [k, m] of markers) if (!want.has(k)) { m.remove(); markers.delete(k); }
  for (const p of list) {
    let m = markers.get(p.key);
    const cls = `pulse level-${p.level}${p.drill ? ' drill' : ''}`;
    if (!m) {
      // The marker's own element keeps MapLibre's classes; the pulse is inside it.
      const e = el('div', {}, el('div', { class: cls, style: { '--c': levelColor(p.level) } }));
      m = new maplibre.Marker({ element: e }).setLngLat(p.lonlat).addTo(map);
      markers.set(p.key, m);
    } else {
      const inner = m.getElement().firstChild;
      inner.className = cls;
      inner.style.setProperty('--c', levelColor(p.level));
    }
  }
}

const alerts = new AlertsPanel($('alerts-list'), $('alerts-count'), {
  locate,
  pulse,
  // ack acknowledges an open alert as the signed-in editor (POST /api/v1/alerts/{id}/ack).
  ack: async (a) => {
    try {
      alerts.ack(await writeJSON(`/api/v1/alerts/${a.id}/ack`, 'POST', { by: identity()?.name ?? '', note: '' }));
    } catch (err) {
      if (err.status === 409 && err.body) alerts.ack({ ...a, acked_at: new Date().toISOString() });
      else toast(t('ack_failed', { e: err.message }));
    }
  },
  fly: (a, w) => {
    if (!map) return;
    map.flyTo({ center: w.lonlat, zoom: Math.max(map.getZoom(), 16), speed: 1.6 });
    openPopup(a.layer, a.feature_id, w.lonlat);
  },
});

async function loadAlerts() {
  const r = await getJSON('/api/v1/alerts?open=true&limit=300');
  alerts.load(r.alerts ?? []);
}

// ---- flood view ----------------------------------------------------------------

const flood = new FloodList($('flood-list'), {
  onDrill: (on) => { state.drill = on; $('drill-banner').hidden = !on; applyModes(); },
  onSelect: (id, s) => {
    const c = center(s.geometry);
    if (!c || !map) return;
    const ll = toMap(c);
    map.flyTo({ center: ll, zoom: Math.max(map.getZoom(), 15) });
    openPopup('waterlogging_spots', id, ll);
  },
});

const rank = (field) => ['match', ['coalesce', ['get', field], 'none'], 'blue', 1, 'yellow', 2, 'orange', 3, 'red', 4, 0];
const drillColor = () => ['match', ['get', 'drill_warning_level'],
  ...registry.warning_levels.choices.flatMap((c) => [c.code, c.color]), '#888888'];

// applyModes sets the map's paint for the flood view (spots, reservoirs and
// monitored slopes emphasized, the rest dimmed) and the drill picture (an object is
// drawn in the worse of its real and drill levels).
function applyModes() {
  if (!map || !map.isStyleLoaded()) return;
  const orig = (id, p) => originals.get(`${id}|${p}`);
  const set = (id, p, v) => { if (map.getLayer(id)) map.setPaintProperty(id, p, v ?? orig(id, p)); };
  const on = state.flood;
  const dim = (id, props, o) => { for (const p of props) set(id, p, on ? o : undefined); };
  dim('risk-clusters', ['circle-opacity', 'circle-stroke-opacity'], 0.12);
  dim('risk-points', ['circle-opacity', 'circle-stroke-opacity'], 0.12);
  dim('rectified-roads', ['line-opacity'], 0.15);
  dim('resources', ['circle-opacity', 'circle-stroke-opacity'], 0.2);
  dim('resources-symbol', ['text-opacity'], 0.2);
  const monitored = ['has', 'sensor_status'];
  set('slopes-fill', 'fill-opacity', on ? ['case', monitored, 0.55, 0.06] : undefined);
  set('slopes-outline', 'line-opacity', on ? ['case', monitored, 1, 0.15] : undefined);
  set('slopes-point', 'circle-opacity', on ? ['case', monitored, 1, 0.15] : undefined);
  set('slopes-point', 'circle-stroke-opacity', on ? ['case', monitored, 1, 0.15] : undefined);
  set('waterlogging-spots', 'circle-radius', on
    ? ['interpolate', ['linear'], ['zoom'], 10, ['match', ['get', 'kind'], 'reservoir', 10, 7], 16, ['match', ['get', 'kind'], 'reservoir', 18, 13]]
    : undefined);
  set('waterlogging-spots', 'circle-stroke-width', on ? ['case', ['==', ['get', 'sensor_status'], 'no_data'], 3, 2] : undefined);
  set('waterlogging-spots', 'circle-stroke-color', on ? ['case', ['==', ['get', 'sensor_status'], 'no_data'], orig('waterlogging-spots', 'circle-stroke-color'), '#e8f1ff'] : undefined);
  // The drill picture: the worse of the real and the drill level.
  const worse = (id, p) => {
    const o = orig(id, p);
    if (o === undefined) return;
    set(id, p, state.drill ? ['case', ['>', rank('drill_warning_level'), rank('warning_level')], drillColor(), o] : undefined);
  };
  worse('waterlogging-spots', 'circle-color');
  worse('waterlogging-areas', 'fill-color');
  worse('slopes-outline', 'line-color');
  worse('slopes-point', 'circle-stroke-color');
}

function setFlood() {
  const auto = ['typhoon', 'rainstorm'].some((k) => (state.signals[k]?.level ?? 'none') !== 'none');
  const on = state.floodManual ?? auto;
  state.flood = on;
  document.body.classList.toggle('flood', on);
  $('flood-toggle').textContent = t(on ? 'wall_view' : 'flood_view');
  $('flood-panel').hidden = !on;
  flood.show(on);
  applyModes();
}

$('flood-toggle').addEventListener('click', () => {
  state.floodManual = !state.flood;
  setFlood();
});

// ---- signals, counts, legend, clock -----------------------------------------------

// The signal chips: for editors they are buttons that open a menu of levels (PUT
// /api/v1/signals/{kind}); for everyone else plain labels.
const signalLevels = ['none', 'white', 'blue', 'yellow', 'orange', 'red'];

function renderSignals() {
  const box = $('signals');
  const edit = canEdit();
  box.replaceChildren(...['typhoon', 'rainstorm'].map((k) => {
    const lv = state.signals[k]?.level ?? 'none';
    const text = `${t(k)} ${t('signal_' + lv)}`;
    if (!edit) return el('span', { class: `signal sig-${lv}`, 'data-kind': k, 'data-level': lv }, text);
    return el('button', {
      type: 'button', class: `signal sig-${lv} editable`, 'data-kind': k, 'data-level': lv, title: t('set_signal', { kind: t(k) }),
      'aria-haspopup': 'menu', onclick: (e) => { e.stopPropagation(); openSignalMenu(k, e.currentTarget); },
    }, text);
  }));
  if (!edit) closeSignalMenu();
}

function closeSignalMenu() { $('signal-menu').hidden = true; }

function openSignalMenu(kind, chip) {
  const menu = $('signal-menu');
  if (!menu.hidden && menu.dataset.kind === kind) { closeSignalMenu(); return; }
  const cur = state.signals[kind]?.level ?? 'none';
  menu.dataset.kind = kind;
  menu.replaceChildren(
    el('div', { class: 'signal-menu-title' }, t('set_signal', { kind: t(kind) })),
    ...signalLevels.map((lv) => el('button', {
      type: 'button', class: `signal sig-${lv}${lv === cur ? ' current' : ''}`, 'data-level': lv, role: 'menuitem',
      onclick: async (e) => {
        e.stopPropagation();
        closeSignalMenu();
        try {
          const s = await writeJSON(`/api/v1/signals/${kind}`, 'PUT', { level: lv, by: identity()?.name ?? '' });
          state.signals[kind] = s;
          state.floodManual = null;
          renderSignals();
          setFlood();
        } catch (err) {
          toast(t('signal_failed', { e: err.message }));
        }
      },
    }, t('signal_' + lv))));
  const r = chip.getBoundingClientRect();
  menu.style.left = `${r.left}px`;
  menu.style.top = `${r.bottom + 4}px`;
  menu.hidden = false;
}
document.addEventListener('click', (e) => { if (!$('signal-menu').contains(e.target)) closeSignalMenu(); });
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeSignalMenu(); });

async function loadSignals() {
  const r = await getJSON('/api/v1/signals');
  state.signals = {};
  for (const s of r.signals ?? []) state.signals[s.kind] = s;
  renderSignals();
  setFlood();
}

async function loadCounts() {
  const r = await getJSON('/api/v1/stats');
  const box = $('counts');
  const rows = [];
  for (const l of registry.layers) {
    const s = r.layers[l.name];
    if (!s) continue;
    const chips = [];
    if (s.by_grade) {
      for (const g of [...registry.risk_grades.choices].reverse()) {
        chips.push(el('span', { class: 'cchip', title: gradeLabel(g.code), style: { borderColor: gradeColor(g.code) } }, s.by_grade[g.code] ?? 0));
      }
    }
    if (s.by_warning) {
      // The warning levels start their own line, label first.
      if (s.by_grade) chips.push(el('span', { class: 'cchip-break' }));
      chips.push(el('span', { class: 'cchip-label' }, t('warning_level')));
      for (const w of [...registry.warning_levels.choices].reverse()) {
        if (w.code === 'none') continue;
        const n = s.by_warning[w.code] ?? 0;
        chips.push(el('span', { class: `cchip warn${n ? ' hot' : ''}`, title: levelLabel(w.code), style: { background: n ? w.color : 'transparent', borderColor: w.color } }, n));
      }
    }
    rows.push(el('div', { class: 'count-row', 'data-layer': l.name },
      el('span', { class: 'count-title' }, layerTitle(l.name)), el('span', { class: 'count-n' }, s.count.toLocaleString()),
      el('div', { class: 'count-chips' }, chips)));
  }
  box.replaceChildren(...rows);
}

function renderLegend() {
  const sw = (color, label, cls = '') => el('div', { class: 'lg' }, el('span', { class: `sw ${cls}`, style: { '--c': color } }), label);
  const resKinds = registry.layers.find((l) => l.name === 'resources')?.fields.find((f) => f.name === 'kind')?.enum?.choices ?? [];
  // A kind's color in a style "match" expression (the style is the one source).
  const matchColor = (m, code) => {
    const i = Array.isArray(m) ? m.indexOf(code) : -1;
    return i > 0 ? m[i + 1] : '#999';
  };
  const resColor = resourceColor;
  const roadKinds = registry.layers.find((l) => l.name === 'rectified_roads')?.fields.find((f) => f.name === 'kind')?.enum?.choices ?? [];
  $('legend').replaceChildren(
    el('h4', {}, t('risk_grade')),
    ...[...registry.risk_grades.choices].reverse().map((c) => sw(c.color, gradeLabel(c.code))),
    el('h4', {}, t('warning_level')),
    ...[...registry.warning_levels.choices].reverse().filter((c) => c.code !== 'none').map((c) => sw(c.color, levelLabel(c.code), 'ring')),
    sw(levelColor('no_data'), t('no_data'), 'ring'),
    sw('#c58af9', t('drill_ring'), 'ring hollow'),
    el('h4', {}, layerTitle('resources')),
    ...resKinds.map((c) => sw(resColor(c.code), codeLabel('resources', 'kind', c.code))),
    el('h4', {}, layerTitle('rectified_roads')),
    ...roadKinds.map((c) => sw(matchColor(state.roadColors, c.code), codeLabel('rectified_roads', 'kind', c.code), 'line')),
  );
}

function tick() {
  const now = new Date();
  $('clock').textContent = clockTime(now);
  $('date').textContent = now.toLocaleDateString(getLang() === 'en' ? 'en-GB' : 'zh-CN', { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' });
}
setInterval(tick, 1000);
tick();

// ---- the live stream -----------------------------------------------------------------

let refreshTimer = null;
let countsTimer = null;
function refreshSoon() {
  // Redraw the changed tiles (riskmap's tiles are revalidated: 304 for the others),
  // at most every 1.5 s, and the counts at most every 3 s.
  if (map && !refreshTimer) {
    refreshTimer = setTimeout(() => { refreshTimer = null; map.refreshTiles('riskmap'); }, 1500);
  }
  if (!countsTimer) countsTimer = setTimeout(() => { countsTimer = null; loadCounts().catch(() => {}); }, 3000);
}

async function resync() {
  await Promise.all([loadAlerts(), loadSignals(), flood.load(), loadCounts()]);
  if (map) map.refreshTiles('riskmap');
}

function setConn(s) {
  state.conn = s;
  if (s === 'live') state.lastLive = null;
  else if (!state.lastLive) state.lastLive = new Date();
  const c = $('conn');
  c.className = `conn ${s}`;
  c.dataset.state = s;
  c.textContent = t(s);
  const banner = $('banner');
  banner.hidden = s !== 'disconnected';
  document.body.classList.toggle('offline', s === 'disconnected');
  if (s === 'disconnected') banner.textContent = t('disconnected_banner', { t: clockTime(state.lastLive) });
}

const stream = new LiveStream('/api/v1/events', {
  change: (c) => {
    if (c.layer === 'waterlogging_spots') flood.change(c);
    refreshSoon();
  },
  alert: (a) => alerts.add(a),
  alert_ack: (a) => alerts.ack(a),
  signal: (s) => {
    state.signals[s.kind] = s;
    state.floodManual = null; // a new signal: the automatic choice again
    renderSignals();
    setFlood();
  },
  reload: () => resync().catch(() => {}),
  resync: () => resync().catch(() => {}),
}, setConn);

function redrawTexts() {
  applyStatic();
  $('lang-toggle').textContent = t('lang_switch');
  renderAuth();
  search.redraw();
  tools.redraw();
  renderSignals();
  renderLegend();
  setFlood();
  alerts.render();
  flood.schedule();
  loadCounts().catch(() => {});
  if (state.conn) setConn(state.conn);
  if (!$('no-webgl').hidden) $('no-webgl').textContent = t('no_webgl');
}
onLang(redrawTexts);
$('lang-toggle').addEventListener('click', () => setLang(getLang() === 'en' ? 'zh' : 'en'));

onIdentity(() => { renderSignals(); alerts.render(); });
redrawTexts();
stream.start();
await retry(resync);
setInterval(() => loadCounts().catch(() => {}), 30e3);
setInterval(() => loadSignals().catch(() => {}), 60e3);
if (map) map.once('load', renderLegend);
state.ready = true;
