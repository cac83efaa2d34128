// Small helpers shared by the page's modules: fetching JSON, building elements,
// level ranks, the WGS84 → GCJ-02 shift, times and sparklines.

// getJSON fetches a JSON document from riskmap; it throws on a network failure, a
// timeout or an error status (with the server's error message).
export async function getJSON(path, { method = 'GET', body, timeout = 15000 } = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  try {
    const init = { method, signal: ctl.signal, cache: 'no-cache' };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const resp = await fetch(path, init);
    const data = await resp.json().catch(() => null);
    if (!resp.ok) throw new Error(`${path}: ${resp.status} ${data?.error ?? ''}`);
    return data;
  } finally {
    clearTimeout(timer);
  }
}

// el builds an element: el('div', {class: 'x', onclick: fn}, child, 'text', ...).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') {
      for (const [sk, sv] of Object.entries(v)) {
        if (sk.startsWith('--')) e.style.setProperty(sk, sv);
        else e.style[sk] = sv;
      }
    }
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// Warning levels from calm to worst; no_data sits between yellow and blue, as the
// server orders open alerts (red, orange, yellow, no data, blue, none).
export const LEVELS = ['none', 'blue', 'yellow', 'orange', 'red'];
export const levelRank = (l) => Math.max(0, LEVELS.indexOf(l ?? 'none'));
export const alertRank = (l) => (l === 'no_data' ? 1.5 : levelRank(l));

// wgs84ToGcj02 shifts [lon, lat] from WGS84 to GCJ-02 (the published formula; the
// same as riskmap's geo.WGS84ToGCJ02), for positions from the API on a GCJ-02 map.
export function wgs84ToGcj02([lon, lat]) {
  if (!(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271)) return [lon, lat];
  const a = 6378245.0, e2 = 0.00669342162296594323, d = Math.PI / 180;
  const x = lon - 105, y = lat - 35;
  const common = 2 / 3 * (20 * Math.sin(6 * Math.PI * x) + 20 * Math.sin(2 * Math.PI * x));
  const de = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) + common +
    2 / 3 * (20 * Math.sin(Math.PI * x) + 40 * Math.sin(Math.PI / 3 * x)) +
    2 / 3 * (150 * Math.sin(Math.PI / 12 * x) + 300 * Math.sin(Math.PI / 30 * x));
  const dn = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) + common +
    2 / 3 * (20 * Math.sin(Math.PI * y) + 40 * Math.sin(Math.PI / 3 * y)) +
    2 / 3 * (160 * Math.sin(Math.PI / 12 * y) + 320 * Math.sin(Math.PI / 30 * y));
  const s = Math.sin(lat * d), w2 = 1 - e2 * s * s, w = Math.sqrt(w2);
  const m = a * (1 - e2) / (w2 * w), n = a / w * Math.cos(lat * d);
  return [lon + de / (n * d), lat + dn / (m * d)];
}

// gcj02ToWgs84 is the inverse of wgs84ToGcj02, by fixed-point iteration (to well
// under a millimeter in a few steps): positions clicked on a GCJ-02 map, back to the
// WGS84 the API takes.
export function gcj02ToWgs84([lon, lat]) {
  let w = [lon, lat];
  for (let i = 0; i < 20; i++) {
    const g = wgs84ToGcj02(w);
    const dx = g[0] - lon, dy = g[1] - lat;
    w = [w[0] - dx, w[1] - dy];
    if (Math.abs(dx) < 1e-11 && Math.abs(dy) < 1e-11) break;
  }
  return w;
}

// mapGeometry is a GeoJSON geometry with every position passed through fn.
export function mapGeometry(g, fn) {
  if (!g) return g;
  const walk = (c) => (typeof c[0] === 'number' ? fn(c) : c.map(walk));
  if (g.type === 'GeometryCollection') return { type: g.type, geometries: g.geometries.map((x) => mapGeometry(x, fn)) };
  return { type: g.type, coordinates: walk(g.coordinates) };
}

// Meters per degree of latitude and of longitude at a latitude on the WGS84
// ellipsoid (meridional and prime-vertical radii): exact enough to draw a circle of
// a few kilometers to the pixel.
export function metersPerDegree(lat) {
  const a = 6378137, e2 = 0.00669437999014, d = Math.PI / 180;
  const s = Math.sin(lat * d), w2 = 1 - e2 * s * s;
  return [a / Math.sqrt(w2) * Math.cos(lat * d) * d, a * (1 - e2) / (w2 * Math.sqrt(w2)) * d];
}

// circleRing is a closed ring of n points at radius meters around [lon, lat] (WGS84).
export function circleRing([lon, lat], radius, n = 128) {
  const [mx, my] = metersPerDegree(lat);
  const ring = [];
  for (let i = 0; i <= n; i++) {
    const a = (i % n) / n * 2 * Math.PI;
    ring.push([lon + radius * Math.sin(a) / mx, lat + radius * Math.cos(a) / my]);
  }
  return ring;
}

// center is a representative [lon, lat] of a GeoJSON geometry: a point itself, else
// the middle of its bounding box.
export function center(g) {
  if (!g) return null;
  if (g.type === 'Point') return g.coordinates;
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(walk);
  };
  walk(g.coordinates);
  return Number.isFinite(w) ? [(w + e) / 2, (s + n) / 2] : null;
}

const pad = (n) => String(n).padStart(2, '0');

// clockTime is HH:MM:SS of a Date (local time).
export const clockTime = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;

// shortTime is HH:MM of an ISO time, with the date when not today.
export function shortTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  const now = new Date();
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.toDateString() === now.toDateString() ? hm : `${d.getMonth() + 1}-${d.getDate()} ${hm}`;
}

// sparkline draws points ([{t, v}]) as an SVG polyline, with an optional dashed
// warning line; w × h in viewBox units.
export function sparkline(points, { w = 120, h = 32, warn, color = '#9ecbff' } = {}) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('preserveAspectRatio', 'none');
  if (!points || points.length < 2) return svg;
  const ts = points.map((p) => Date.parse(p.t));
  const vs = points.map((p) => p.v);
  const t0 = Math.min(...ts), t1 = Math.max(...ts);
  let v0 = Math.min(...vs, warn ?? Infinity), v1 = Math.max(...vs, warn ?? -Infinity);
  if (v1 - v0 < 1e-9) { v0 -= 1; v1 += 1; }
  const X = (t) => ((t - t0) / Math.max(1, t1 - t0)) * (w - 2) + 1;
  const Y = (v) => h - 2 - ((v - v0) / (v1 - v0)) * (h - 4);
  if (warn !== undefined && warn !== null) {
    const l = document.createElementNS(ns, 'line');
    for (const [k, v] of Object.entries({ x1: 0, x2: w, y1: Y(warn), y2: Y(warn), class: 'spark-warn' })) l.setAttribute(k, v);
    svg.append(l);
  }
  const pl = document.createElementNS(ns, 'polyline');
  pl.setAttribute('points', ts.map((t, i) => `${X(t).toFixed(1)},${Y(vs[i]).toFixed(1)}`).join(' '));
  pl.setAttribute('fill', 'none');
  pl.setAttribute('stroke', color);
  pl.setAttribute('stroke-width', '1.5');
  pl.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(pl);
  return svg;
}
