// The planner (规划查询): "what risk is near this site?" A site clicked on the map or
// typed as coordinates (WGS84, or GCJ-02 as copied from a Chinese map app) with a
// radius, a polygon or a route with a buffer drawn on the map: the site report of the
// server (GET or POST /api/v1/report) drawn as a ring, polygon or corridor, with the
// counts by layer and grade, the monitored objects in warning, the nearest object of
// each layer, and every object found grouped by layer, then by grade (or warning
// level), nearest first with its distance; a row flies to its object. The report
// downloads as CSV or GeoJSON and opens as a printable briefing, the same report in
// other formats.

import { area, distance, getLang, getRegistry, gradeColor, gradeLabel, layerTitle, levelColor, levelLabel, t, unit } from './i18n.js';
import { center, circleRing, el, getJSON, mapGeometry, wgs84ToGcj02 } from './util.js';
import { corridorWidth0, crsSelect, feature, fmtLonLat, numberInput, parseLonLat, positive } from './toolkit.js';

const src = 'planner';
const firstRows = 10; // rows shown at first in each group
const moreRows = 40; // rows each "show more" adds
const maxRadius = 50000;

export class Planner {
  // ctx: map, overlay, toMap, fromMap, cfg, openPopup, fly.
  constructor(ctx) {
    this.ctx = ctx;
    this.mode = 'circle';
    const reg = getRegistry();
    this.form = {
      coords: '', crs: 'wgs84', radius: '500', buffer: '200', title: '',
      layers: new Set(reg.layers.map((l) => l.name)),
      grades: new Set(reg.risk_grades.choices.map((g) => g.code)),
    };
    this.vertices = []; // the polygon's or route's points being drawn, map coordinates
    this.cursorAt = null;
    this.spec = null; // the last query asked: {kind, ...}
    this.report = null;
    this.error = null;
    this.busy = false;
    this.seq = 0;
    this.shown = new Map(); // group key → rows shown
    this.body = null;
    this.lastRequest = null; // {method, url, body}: for tests
  }

  mount(body) {
    this.body = body;
    this.render();
    this.draw();
  }

  unmount() {
    this.body = null;
    this.ctx.overlay.clear(src);
  }

  // ---- the form -----------------------------------------------------------------

  render() {
    if (!this.body) return;
    const modes = el('div', { class: 'seg', role: 'tablist' }, ...['circle', 'polygon', 'route'].map((m) => el('button', {
      type: 'button', class: `seg-btn${this.mode === m ? ' active' : ''}`, 'data-mode': m, role: 'tab',
      'aria-selected': this.mode === m ? 'true' : 'false', onclick: () => this.setMode(m),
    }, t(`mode_${m}`))));
    const form = el('div', { class: 'tool-form' });
    if (this.mode === 'circle') {
      const coords = el('input', { type: 'text', name: 'coords', value: this.form.coords, placeholder: t('coords_placeholder'), spellcheck: 'false', autocomplete: 'off' });
      coords.addEventListener('input', () => { this.form.coords = coords.value; });
      coords.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.runCircle(); });
      form.append(
        el('div', { class: 'hint' }, t('hint_circle')),
        el('label', { class: 'field' }, el('span', { class: 'field-label' }, t('coords')), el('span', { class: 'field-input' }, coords)),
        crsSelect(this.form, 'crs'),
        numberInput(t('radius'), this.form, 'radius', { min: 1, step: 50, unitText: unit('m'), onEnter: () => this.runCircle() }),
        el('div', { class: 'actions' }, el('button', { type: 'button', class: 'primary', name: 'run', onclick: () => this.runCircle() }, t('run_query'))),
      );
    } else {
      form.append(el('div', { class: 'hint' }, t(`hint_${this.mode}`)));
      if (this.mode === 'route') form.append(numberInput(t('buffer'), this.form, 'buffer', { min: 1, step: 50, unitText: unit('m'), onEnter: () => this.finish() }));
      form.append(el('div', { class: 'actions' },
        el('span', { class: 'muted vertex-count' }, t('vertices', { n: this.vertices.length })),
        el('button', { type: 'button', class: 'primary', name: 'finish', onclick: () => this.finish() }, t('finish')),
        el('button', { type: 'button', name: 'clear', onclick: () => this.clearDrawing() }, t('clear'))));
    }
    const title = el('input', { type: 'text', name: 'title', value: this.form.title, maxlength: 100, placeholder: t('report_title_placeholder') });
    title.addEventListener('input', () => { this.form.title = title.value; if (this.report) this.refreshDownloads(); });
    form.append(el('label', { class: 'field' }, el('span', { class: 'field-label' }, t('report_title')), el('span', { class: 'field-input' }, title)));
    this.body.replaceChildren(modes, form, this.filtersBox(), this.statusBox(), this.resultsBox());
  }

  filtersBox() {
    const reg = getRegistry();
    const changed = () => { if (this.spec) this.run(this.spec); };
    const layerBoxes = reg.layers.map((l) => {
      const cb = el('input', { type: 'checkbox', name: 'layer', value: l.name, checked: this.form.layers.has(l.name) });
      cb.addEventListener('change', () => {
        if (cb.checked) this.form.layers.add(l.name); else this.form.layers.delete(l.name);
        changed();
      });
      return el('label', { class: 'check' }, cb, layerTitle(l.name));
    });
    const gradeChips = [...reg.risk_grades.choices].reverse().map((g) => {
      const on = this.form.grades.has(g.code);
      return el('button', {
        type: 'button', class: `gchip${on ? ' on' : ''}`, 'data-grade': g.code, style: { '--c': gradeColor(g.code) },
        'aria-pressed': on ? 'true' : 'false',
        onclick: () => {
          if (on) this.form.grades.delete(g.code); else this.form.grades.add(g.code);
          if (!this.form.grades.size) for (const c of reg.risk_grades.choices) this.form.grades.add(c.code);
          this.render();
          changed();
        },
      }, gradeLabel(g.code));
    });
    return el('details', { class: 'filters', open: this.filtersOpen || undefined, ontoggle: (e) => { this.filtersOpen = e.target.open; } },
      el('summary', {}, t('filters')),
      el('div', { class: 'checks' }, layerBoxes),
      el('div', { class: 'gchips' }, gradeChips));
  }

  statusBox() {
    if (this.busy) return el('div', { class: 'status muted' }, t('querying'));
    if (this.error) return el('div', { class: 'status error', role: 'alert' }, this.error);
    return el('div', { class: 'status' });
  }

  setMode(m) {
    if (m === this.mode) return;
    this.mode = m;
    this.vertices = [];
    this.cursorAt = null;
    this.render();
    this.draw();
  }

  // ---- the map ------------------------------------------------------------------

  cursor() { return 'crosshair'; }

  onClick(e) {
    const ll = [e.lngLat.lng, e.lngLat.lat];
    if (this.mode === 'circle') {
      const wgs = this.ctx.fromMap(ll);
      this.form.coords = fmtLonLat(this.form.crs === 'gcj02' ? wgs84ToGcj02(wgs) : wgs);
      this.render();
      this.runCircle();
      return true;
    }
    // A click on the last point again (the first half of a double click) adds nothing.
    const last = this.vertices.at(-1);
    if (last && this.ctx.map) {
      const a = this.ctx.map.project(last);
      if (Math.hypot(a.x - e.point.x, a.y - e.point.y) < 4) return true;
    }
    this.vertices.push(ll);
    const n = this.body?.querySelector('.vertex-count');
    if (n) n.textContent = t('vertices', { n: this.vertices.length });
    this.draw();
    return true;
  }

  onDblClick() {
    if (this.mode === 'circle') return false;
    this.finish();
    return true;
  }

  // The rubber band from the last point to the pointer.
  onMove(e) {
    if (this.mode === 'circle' || !this.vertices.length) return;
    this.cursorAt = [e.lngLat.lng, e.lngLat.lat];
    this.draw();
  }

  clearDrawing() {
    this.vertices = [];
    this.cursorAt = null;
    this.render();
    this.draw();
  }

  finish() {
    const need = this.mode === 'polygon' ? 3 : 2;
    if (this.vertices.length < need) {
      this.error = t(`hint_${this.mode}`);
      this.render();
      return;
    }
    const crs = this.ctx.cfg.crs === 'gcj02' ? 'gcj02' : 'wgs84';
    if (this.mode === 'polygon') {
      this.run({ kind: 'polygon', coords: [...this.vertices, this.vertices[0]], crs });
    } else {
      const buffer = positive(this.form.buffer, maxRadius);
      if (buffer === null) {
        this.error = t('bad_number', { what: t('buffer') });
        this.render();
        return;
      }
      this.run({ kind: 'route', coords: [...this.vertices], crs, buffer });
    }
    this.vertices = [];
    this.cursorAt = null;
  }

  // draw shows the query's area (from the report, WGS84) or the shape being drawn.
  draw() {
    const toMap = this.ctx.toMap;
    const fs = [];
    const r = this.report;
    if (r?.area && (this.vertices.length === 0 || this.mode === 'circle')) {
      const a = r.area;
      const g = a.geometry;
      if (g && (g.type === 'Polygon' || g.type === 'MultiPolygon') && a.kind !== 'circle') {
        fs.push(feature(mapGeometry(g, toMap), { role: 'area' }));
      } else if (a.kind === 'circle') {
        const c = a.center ?? g?.coordinates;
        fs.push(feature({ type: 'Polygon', coordinates: [circleRing(c, a.radius_m).map(toMap)] }, { role: 'area' }));
        fs.push(feature({ type: 'Point', coordinates: toMap(c) }, { role: 'site' }));
      } else if (g && (g.type === 'LineString' || g.type === 'MultiLineString')) {
        const lat = center(g)?.[1] ?? 22.5;
        fs.push(feature(mapGeometry(g, toMap), { role: 'route', w0: corridorWidth0(a.buffer_m ?? 0, lat) }));
      } else if (g) {
        fs.push(feature(mapGeometry(g, toMap), { role: 'area' }));
      }
    }
    if (this.mode !== 'circle' && this.vertices.length) {
      const line = [...this.vertices];
      if (this.cursorAt) line.push(this.cursorAt);
      if (this.mode === 'polygon' && line.length > 2) line.push(this.vertices[0]);
      if (line.length > 1) fs.push(feature({ type: 'LineString', coordinates: line }, { role: 'draft' }));
      for (const v of this.vertices) fs.push(feature({ type: 'Point', coordinates: v }, { role: 'vertex' }));
    }
    this.ctx.overlay.set(src, fs);
  }

  // fit shows the report's area between the panels.
  fit() {
    const map = this.ctx.map;
    const a = this.report?.area;
    if (!map || !a) return;
    let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
    const add = ([x, y]) => { w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y); };
    if (a.kind === 'circle' && (a.center ?? a.geometry?.coordinates)) {
      circleRing(a.center ?? a.geometry.coordinates, a.radius_m, 32).forEach((p) => add(this.ctx.toMap(p)));
    } else if (a.geometry) {
      mapGeometry(a.geometry, (p) => { add(this.ctx.toMap(p)); return p; });
    }
    if (!Number.isFinite(w)) return;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const pad = { top: 5.5 * rem, bottom: 2 * rem, left: 33 * rem, right: 32 * rem };
    map.fitBounds([[w, s], [e, n]], { padding: pad, maxZoom: 17.5, duration: 600 });
  }

  // ---- the query ----------------------------------------------------------------

  runCircle() {
    const p = parseLonLat(this.form.coords);
    if (!p) {
      this.error = t('bad_coords');
      this.render();
      return;
    }
    const radius = positive(this.form.radius, maxRadius);
    if (radius === null) {
      this.error = t('bad_number', { what: t('radius') });
      this.render();
      return;
    }
    this.run({ kind: 'circle', lon: p[0], lat: p[1], crs: this.form.crs, radius });
  }

  // filters is the filter grammar of the form: nothing when everything is on.
  filters() {
    const reg = getRegistry();
    const out = {};
    if (this.form.layers.size && this.form.layers.size < reg.layers.length) out.layers = reg.layers.map((l) => l.name).filter((n) => this.form.layers.has(n));
    if (this.form.grades.size < reg.risk_grades.choices.length) out.grade = reg.risk_grades.choices.map((g) => g.code).filter((c) => this.form.grades.has(c));
    return out;
  }

  // request is the report's URL (and body) for a format ('' is JSON).
  request(spec, format = '') {
    const q = new URLSearchParams();
    const f = this.filters();
    if (spec.kind === 'circle') {
      q.set('lon', String(spec.lon));
      q.set('lat', String(spec.lat));
      q.set('radius', String(spec.radius));
      for (const [k, v] of Object.entries(f)) q.set(k, v.join(','));
    }
    const title = this.form.title.trim();
    if (spec.kind === 'circle' && title) q.set('title', title);
    if (spec.crs === 'gcj02') q.set('crs', 'gcj02');
    q.set('lang', getLang());
    if (format) q.set('format', format);
    const url = `/api/v1/report?${q}`;
    if (spec.kind === 'circle') return { method: 'GET', url };
    const body = spec.kind === 'polygon'
      ? { geometry: { type: 'Polygon', coordinates: [spec.coords] } }
      : { geometry: { type: 'LineString', coordinates: spec.coords }, buffer_m: spec.buffer };
    if (Object.keys(f).length) body.filters = f;
    if (title) body.title = title;
    return { method: 'POST', url, body };
  }

  async run(spec) {
    const seq = ++this.seq;
    this.spec = spec;
    this.busy = true;
    this.error = null;
    this.render();
    const req = this.request(spec);
    this.lastRequest = req;
    try {
      const r = await getJSON(req.url, req.method === 'GET' ? {} : { method: 'POST', body: req.body, timeout: 30000 });
      if (seq !== this.seq) return;
      this.report = r;
      this.shown.clear();
      this.draw();
      this.fit();
    } catch (err) {
      if (seq !== this.seq) return;
      this.error = t('failed', { e: err.message ?? err });
    } finally {
      if (seq === this.seq) {
        this.busy = false;
        this.render();
      }
    }
  }

  // ---- downloads ----------------------------------------------------------------

  downloads() {
    const spec = this.spec;
    const link = (format, label, extra = {}) => {
      const req = this.request(spec, format);
      if (req.method === 'GET') {
        return el('a', { class: 'btn', href: req.url, 'data-format': format, ...extra }, label);
      }
      // A POST query: fetched, then saved (or opened) from a Blob.
      return el('a', { class: 'btn', href: '#', 'data-format': format, onclick: (e) => { e.preventDefault(); this.postDownload(format); } }, label);
    };
    return el('div', { class: 'downloads' },
      link('csv', t('download_csv'), { download: '' }),
      link('geojson', t('download_geojson'), { download: '' }),
      link('html', t('briefing'), { target: '_blank', rel: 'noopener' }));
  }

  // refreshDownloads points the download links at the form's current title.
  refreshDownloads() {
    const box = this.body?.querySelector('.downloads');
    if (box && this.spec) box.replaceWith(this.downloads());
  }

  async postDownload(format) {
    // The briefing's tab opens now, while the click still counts as one (a tab opened
    // after the fetch would be blocked as a popup).
    const tab = format === 'html' ? window.open('', '_blank') : null;
    const req = this.request(this.spec, format);
    try {
      const resp = await fetch(req.url, { method: 'POST', body: JSON.stringify(req.body), headers: { 'Content-Type': 'application/json' } });
      if (!resp.ok) {
        const data = await resp.json().catch(() => null);
        throw new Error(`${resp.status} ${data?.error ?? ''}`);
      }
      const type = resp.headers.get('Content-Type') ?? 'application/octet-stream';
      const blob = new Blob([await resp.arrayBuffer()], { type });
      const url = URL.createObjectURL(blob);
      setTimeout(() => URL.revokeObjectURL(url), 60e3);
      if (tab) {
        tab.location.href = url;
        return;
      }
      const name = /filename="?([^";]+)"?/.exec(resp.headers.get('Content-Disposition') ?? '')?.[1] ?? `riskmap-report.${format}`;
      const a = el('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      tab?.close();
      this.error = t('failed', { e: err.message ?? err });
      this.render();
    }
  }

  // ---- results ------------------------------------------------------------------

  resultsBox() {
    const r = this.report;
    if (!r) return el('div', { class: 'results' });
    const box = el('div', { class: 'results', 'data-total': r.total });
    const a = r.area ?? {};
    let what = '';
    if (a.kind === 'circle') what = t('area_circle', { c: fmtLonLat(a.center ?? [0, 0]).replace(',', ', '), r: distance(a.radius_m) });
    else if (a.kind === 'polygon') what = t('area_polygon', { a: area(a.area_m2) });
    else if (a.kind === 'route') what = t('area_route', { l: distance(a.length_m), b: distance(a.buffer_m) });
    box.append(
      el('div', { class: 'summary' }, el('div', { class: 'big' }, t('results_total', { n: (r.total ?? 0).toLocaleString() })), el('div', { class: 'muted small' }, what)),
      this.downloads(),
      this.countsTable(r),
    );
    const warn = r.in_warning?.features ?? [];
    if (warn.length) {
      box.append(el('h3', {}, t('in_warning_nearby')),
        el('div', { class: 'rows', 'data-group': 'in_warning' }, warn.slice(0, 20).map((f) => this.row(f, 'warning'))));
    }
    const nearest = (r.nearest ?? []).filter((n) => n.feature);
    if (nearest.length) {
      box.append(el('h3', {}, t('nearest_each')), el('div', { class: 'rows nearest' }, nearest.map((n) => this.row(n.feature, 'layer'))));
    }
    box.append(this.groups(r));
    return box;
  }

  countsTable(r) {
    const grades = [...getRegistry().risk_grades.choices].reverse();
    const rows = (r.by_layer ?? []).map((l) => el('div', { class: 'count-line', 'data-layer': l.layer },
      el('span', { class: 'cl-title' }, layerTitle(l.layer)),
      el('span', { class: 'cl-chips' }, l.by_grade && Object.keys(l.by_grade).length
        ? grades.map((g) => el('span', { class: 'cchip', title: gradeLabel(g.code), style: { borderColor: gradeColor(g.code) } }, l.by_grade[g.code] ?? 0))
        : ''),
      el('span', { class: 'cl-n' }, (l.total ?? 0).toLocaleString())));
    return el('div', { class: 'counts-table' }, rows);
  }

  // groups lists every feature by layer (registry order), then by grade (worst
  // first) or, for layers without a grade, by warning level.
  groups(r) {
    const reg = getRegistry();
    const byLayer = new Map();
    for (const f of r.features?.features ?? []) {
      const p = f.properties ?? {};
      if (!byLayer.has(p.layer)) byLayer.set(p.layer, []);
      byLayer.get(p.layer).push(f);
    }
    const out = el('div', { class: 'groups' });
    for (const l of reg.layers) {
      const fs = byLayer.get(l.name);
      if (!fs?.length) continue;
      const graded = l.fields.some((x) => x.name === 'risk_grade');
      const warned = !graded && l.fields.some((x) => x.name === 'warning_level');
      const order = graded ? [...reg.risk_grades.choices].reverse().map((c) => c.code)
        : warned ? [...reg.warning_levels.choices].reverse().map((c) => c.code) : [''];
      const subs = new Map(order.map((c) => [c, []]));
      for (const f of fs) {
        const k = graded ? (f.properties.risk_grade ?? '') : warned ? (f.properties.warning_level ?? 'none') : '';
        if (!subs.has(k)) subs.set(k, []);
        subs.get(k).push(f);
      }
      const section = el('section', { class: 'group', 'data-layer': l.name },
        el('h3', {}, layerTitle(l.name), el('span', { class: 'badge' }, fs.length.toLocaleString())));
      for (const [k, list] of subs) {
        if (!list.length) continue;
        const key = `${l.name}|${k}`;
        const n = this.shown.get(key) ?? firstRows;
        let head = '';
        if (graded) head = el('h4', {}, el('span', { class: 'sw', style: { '--c': k ? gradeColor(k) : '#888' } }), k ? gradeLabel(k) : t('no_grade'), ` · ${list.length}`);
        else if (warned) head = el('h4', {}, el('span', { class: 'sw ring', style: { '--c': levelColor(k) } }), levelLabel(k), ` · ${list.length}`);
        const rows = el('div', { class: 'rows', 'data-group': key, 'data-total': list.length }, list.slice(0, n).map((f) => this.row(f)));
        if (list.length > n) {
          rows.append(el('button', {
            type: 'button', class: 'more-btn', onclick: () => { this.shown.set(key, n + moreRows); this.render(); },
          }, t('show_more', { n: Math.min(moreRows, list.length - n), m: list.length - n })));
        }
        section.append(head, rows);
      }
      out.append(section);
    }
    return out;
  }

  // row is one feature: its grade or level, name and distance; a click flies to it.
  row(f, tag = '') {
    const p = f.properties ?? {};
    const id = p.id ?? f.id;
    let chip = el('span', { class: 'sw blank' });
    if (tag === 'warning' || (!p.risk_grade && p.warning_level && p.warning_level !== 'none')) {
      chip = el('span', { class: 'lvl', style: { background: levelColor(p.warning_level) } }, levelLabel(p.warning_level));
    } else if (p.risk_grade) {
      chip = el('span', { class: 'sw', title: gradeLabel(p.risk_grade), style: { '--c': gradeColor(p.risk_grade) } });
    }
    return el('div', {
      class: 'res-row', 'data-layer': p.layer, 'data-id': id, 'data-distance': p.distance_m, role: 'button', tabindex: '0',
      title: p.address ?? '',
      onclick: () => this.ctx.fly(p.layer, id, center(f.geometry)),
      onkeydown: (e) => {
        if (e.key !== 'Enter') return;
        e.preventDefault(); // the popup takes the focus: no Enter on its close button
        this.ctx.fly(p.layer, id, center(f.geometry));
      },
    },
    chip,
    el('span', { class: 'res-name' }, tag === 'layer' ? el('small', { class: 'pre' }, layerTitle(p.layer)) : '', p.name ?? `${layerTitle(p.layer)} ${id}`),
    el('span', { class: 'res-dist' }, distance(p.distance_m)));
  }
}
