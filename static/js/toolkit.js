// Helpers the tools share: the overlay that draws their shapes on the map and the
// fields of their forms.

import { t } from './i18n.js';
import { el, metersPerDegree } from './util.js';

const empty = { type: 'FeatureCollection', features: [] };
const accent = '#5fa8ff';

// Overlay draws a tool's shapes: one GeoJSON source per tool, its features told
// apart by a "role" property (area, route, draft, vertex, site, incident, link).
// Fills and route corridors go under riskmap's layers, so the objects stay crisp on
// top; outlines, lines and points above them.
export class Overlay {
  constructor(map, beforeId) {
    this.map = map;
    this.beforeId = beforeId;
    this.data = new Map(); // source → features
    // Sources can be added once the style has loaded (map.isStyleLoaded() is false
    // again whenever tiles load, so it is no guide): whatever was set before is drawn
    // on load.
    map?.on('load', () => { for (const src of this.data.keys()) this.apply(src); });
  }

  ensure(src) {
    const map = this.map;
    if (map.getSource(src)) return true;
    try {
      map.addSource(src, { type: 'geojson', data: empty });
    } catch {
      return false; // the style is not loaded yet
    }
    const role = (...r) => ['in', ['get', 'role'], ['literal', r]];
    const polygons = ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]];
    const under = map.getLayer(this.beforeId) ? this.beforeId : undefined;
    // A route's corridor: a line as wide as twice the buffer in meters at every zoom
    // (w0 is that width in pixels at zoom 0, doubling with each zoom).
    map.addLayer({
      id: `${src}-corridor`, type: 'line', source: src, filter: ['all', role('route'), ['has', 'w0']],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': accent, 'line-opacity': 0.22, 'line-width': ['interpolate', ['exponential', 2], ['zoom'], 0, ['get', 'w0'], 24, ['*', ['get', 'w0'], 2 ** 24]] },
    }, under);
    map.addLayer({ id: `${src}-fill`, type: 'fill', source: src, filter: ['all', role('area'), polygons], paint: { 'fill-color': accent, 'fill-opacity': 0.13 } }, under);
    map.addLayer({ id: `${src}-outline`, type: 'line', source: src, filter: role('area'), paint: { 'line-color': accent, 'line-width': 2.5, 'line-dasharray': [3, 1.5] } });
    map.addLayer({ id: `${src}-route`, type: 'line', source: src, filter: role('route'), layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: { 'line-color': accent, 'line-width': 3 } });
    map.addLayer({ id: `${src}-draft`, type: 'line', source: src, filter: role('draft'), paint: { 'line-color': '#ffd54f', 'line-width': 2, 'line-dasharray': [2, 1.5] } });
    map.addLayer({ id: `${src}-links-casing`, type: 'line', source: src, filter: role('link'), layout: { 'line-cap': 'round' }, paint: { 'line-color': '#05080f', 'line-width': 7, 'line-opacity': 0.75 } });
    map.addLayer({
      id: `${src}-links`, type: 'line', source: src, filter: role('link'), layout: { 'line-cap': 'round' },
      paint: { 'line-color': ['coalesce', ['get', 'color'], accent], 'line-width': 3.5, 'line-opacity': 0.95 },
    });
    map.addLayer({ id: `${src}-vertex`, type: 'circle', source: src, filter: role('vertex'), paint: { 'circle-radius': 5, 'circle-color': '#ffffff', 'circle-stroke-color': '#ffd54f', 'circle-stroke-width': 2 } });
    map.addLayer({ id: `${src}-site`, type: 'circle', source: src, filter: role('site'), paint: { 'circle-radius': 7, 'circle-color': accent, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2.5 } });
    map.addLayer({ id: `${src}-incident`, type: 'circle', source: src, filter: role('incident'), paint: { 'circle-radius': 10, 'circle-color': '#ff1744', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3 } });
    return true;
  }

  apply(src) {
    if (this.map && this.ensure(src)) this.map.getSource(src).setData({ type: 'FeatureCollection', features: this.data.get(src) ?? [] });
  }

  // set replaces a source's features (map coordinates).
  set(src, features) {
    this.data.set(src, features);
    this.apply(src);
  }

  // features is what a source draws now (for tests).
  features(src) { return this.data.get(src) ?? []; }

  clear(src) { this.set(src, []); }
}

// corridorWidth0 is the on-screen width at zoom 0 (pixels of MapLibre's 512-pixel
// tiles) of a corridor buffer meters to each side of a line at latitude lat.
export function corridorWidth0(buffer, lat) {
  const metersPerPixel0 = metersPerDegree(lat)[0] * 360 / 512;
  return (2 * buffer) / metersPerPixel0;
}

// feature is a GeoJSON feature.
export const feature = (geometry, properties) => ({ type: 'Feature', geometry, properties });

// numberInput is a labelled number field bound to obj[key].
export function numberInput(label, obj, key, { min = 0, step = 1, unitText = '', onEnter, name } = {}) {
  const input = el('input', { type: 'number', min, step, value: obj[key] ?? '', name: name ?? key, inputmode: 'decimal' });
  input.addEventListener('input', () => { obj[key] = input.value; });
  if (onEnter) input.addEventListener('keydown', (e) => { if (e.key === 'Enter') onEnter(); });
  return el('label', { class: 'field' }, el('span', { class: 'field-label' }, label), el('span', { class: 'field-input' }, input, unitText ? el('span', { class: 'unit' }, unitText) : ''));
}

// crsSelect is a WGS84 / GCJ-02 selector bound to obj[key].
export function crsSelect(obj, key) {
  const sel = el('select', { name: key },
    el('option', { value: 'wgs84' }, t('crs_wgs84')),
    el('option', { value: 'gcj02' }, t('crs_gcj02')));
  sel.value = obj[key];
  sel.addEventListener('change', () => { obj[key] = sel.value; });
  return el('label', { class: 'field' }, el('span', { class: 'field-label' }, t('crs')), el('span', { class: 'field-input' }, sel));
}

// parseLonLat reads "lon,lat" (or "lon lat"; "lat,lon" when the order is plain from
// the values, as some map apps copy it). null when it cannot.
export function parseLonLat(s) {
  const nums = String(s ?? '').trim().split(/[\s,，;；]+/).filter(Boolean).map(Number);
  if (nums.length !== 2 || nums.some((n) => !Number.isFinite(n))) return null;
  let [a, b] = nums;
  if (Math.abs(a) <= 90 && Math.abs(b) > 90) [a, b] = [b, a];
  if (Math.abs(a) > 180 || Math.abs(b) > 90) return null;
  return [a, b];
}

// positive reads a number > 0 (and ≤ max), or null.
export function positive(v, max = Infinity) {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 && n <= max && String(v).trim() !== '' ? n : null;
}

// fmtLonLat writes a position with 7 decimals (about 1 cm).
export const fmtLonLat = ([lon, lat]) => `${lon.toFixed(7)},${lat.toFixed(7)}`;
