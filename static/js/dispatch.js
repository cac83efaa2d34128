// The dispatch panel (调度): an incident marked on the map (or typed as coordinates)
// and what a dispatcher needs about it from GET /api/v1/dispatch — the nearest rescue
// teams, depots, shelters (open, with enough room) and medical points, nearest first;
// the risks within the radius by layer and grade; the monitored objects in warning
// nearby, worst first. The checked resources (the nearest of each kind at first) are
// linked to the incident on the map with their straight-line distances.

import { codeLabel, distance, fieldLabel, getRegistry, gradeColor, gradeLabel, layerTitle, levelColor, levelLabel, t, unit } from './i18n.js';
import { center, el, gcj02ToWgs84, getJSON, wgs84ToGcj02 } from './util.js';
import { crsSelect, feature, fmtLonLat, numberInput, parseLonLat, positive } from './toolkit.js';

const src = 'dispatch';
// The order a dispatcher reads the kinds in; kinds the registry adds later follow in
// its order.
const kindOrder = ['rescue_team', 'material_depot', 'shelter', 'medical'];

export class Dispatch {
  // ctx: map, maplibre, overlay, toMap, fromMap, openPopup, fly, resourceColor.
  constructor(ctx) {
    this.ctx = ctx;
    this.form = { coords: '', crs: 'wgs84', radius: '1000', perKind: '3', minCapacity: '', openOnly: true };
    this.armed = false;
    this.incident = null; // WGS84 [lon, lat]
    this.result = null;
    this.checked = new Set(); // "kind/id"
    this.error = null;
    this.busy = false;
    this.seq = 0;
    this.labels = []; // distance markers on the map
    this.body = null;
    this.lastURL = null; // for tests
  }

  kinds() {
    const codes = getRegistry().layers.find((l) => l.name === 'resources')?.fields.find((f) => f.name === 'kind')?.enum?.choices.map((c) => c.code) ?? [];
    return [...kindOrder.filter((k) => codes.includes(k)), ...codes.filter((k) => !kindOrder.includes(k))];
  }

  mount(body) {
    this.body = body;
    this.render();
    this.draw();
  }

  unmount() {
    this.body = null;
    this.armed = false;
    this.ctx.overlay.clear(src);
    this.clearLabels();
  }

  cursor() { return this.armed ? 'crosshair' : undefined; }

  onClick(e) {
    if (!this.armed) return false;
    this.armed = false;
    const wgs = this.ctx.fromMap([e.lngLat.lng, e.lngLat.lat]);
    this.form.coords = fmtLonLat(this.form.crs === 'gcj02' ? wgs84ToGcj02(wgs) : wgs);
    this.run(wgs);
    return true;
  }

  arm() {
    this.armed = !this.armed;
    this.render();
  }

  // locate runs the typed coordinates (converted to WGS84 when given in GCJ-02).
  locate() {
    const p = parseLonLat(this.form.coords);
    if (!p) {
      this.error = t('bad_coords');
      this.render();
      return;
    }
    this.run(this.form.crs === 'gcj02' ? gcj02ToWgs84(p) : p);
  }

  // redraw redraws the panel and the map's distance labels (after a language switch).
  redraw() {
    this.render();
    this.draw();
  }

  // ---- the form ---------------------------------------------------------------------

  render() {
    if (!this.body) return;
    const coords = el('input', { type: 'text', name: 'coords', value: this.form.coords, placeholder: t('coords_placeholder'), spellcheck: 'false', autocomplete: 'off' });
    coords.addEventListener('input', () => { this.form.coords = coords.value; });
    coords.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.locate(); });
    const open = el('input', { type: 'checkbox', name: 'open_only', checked: this.form.openOnly });
    open.addEventListener('change', () => { this.form.openOnly = open.checked; this.rerun(); });
    const again = () => this.rerun();
    const form = el('div', { class: 'tool-form' },
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: `primary${this.armed ? ' armed' : ''}`, name: 'mark', onclick: () => this.arm() }, t('mark_incident')),
        this.armed ? el('span', { class: 'hint armed-hint' }, t('marking')) : ''),
      el('label', { class: 'field' }, el('span', { class: 'field-label' }, t('coords')),
        el('span', { class: 'field-input' }, coords, el('button', { type: 'button', name: 'locate', onclick: () => this.locate() }, t('locate')))),
      crsSelect(this.form, 'crs'),
      el('div', { class: 'field-row' },
        numberInput(t('radius'), this.form, 'radius', { min: 1, step: 100, unitText: unit('m'), onEnter: again }),
        numberInput(t('per_kind'), this.form, 'perKind', { min: 1, step: 1, onEnter: again })),
      numberInput(t('min_capacity'), this.form, 'minCapacity', { min: 0, step: 100, unitText: unit('persons'), onEnter: again }),
      el('label', { class: 'check' }, open, t('open_only')));
    const status = this.busy ? el('div', { class: 'status muted' }, t('querying'))
      : this.error ? el('div', { class: 'status error', role: 'alert' }, this.error) : el('div', { class: 'status' });
    this.body.replaceChildren(form, status, this.resultsBox());
  }

  rerun() { if (this.incident) this.run(this.incident); }

  // ---- the query ----------------------------------------------------------------------

  url(p) {
    const q = new URLSearchParams({ lon: p[0].toFixed(7), lat: p[1].toFixed(7) });
    const radius = positive(this.form.radius, 50000);
    if (radius !== null) q.set('radius', String(radius));
    const per = Math.round(Number(this.form.perKind));
    if (per >= 1 && per <= 50) q.set('per_kind', String(per));
    const cap = Math.round(Number(this.form.minCapacity));
    if (String(this.form.minCapacity).trim() !== '' && cap > 0) q.set('shelter_min_capacity', String(cap));
    if (this.form.openOnly) q.set('shelter_open', 'true');
    return `/api/v1/dispatch?${q}`;
  }

  async run(p) {
    const seq = ++this.seq;
    this.incident = p;
    this.busy = true;
    this.error = null;
    this.render();
    const url = this.url(p);
    this.lastURL = url;
    try {
      const r = await getJSON(url);
      if (seq !== this.seq) return;
      this.result = r;
      // The nearest of each kind is checked to begin with.
      this.checked.clear();
      for (const k of this.kinds()) {
        const f = r.resources?.[k]?.features?.[0];
        if (f) this.checked.add(`${k}/${f.properties.id ?? f.id}`);
      }
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

  // ---- the map ------------------------------------------------------------------------

  chosen() {
    const out = [];
    for (const k of this.kinds()) {
      for (const f of this.result?.resources?.[k]?.features ?? []) {
        if (this.checked.has(`${k}/${f.properties.id ?? f.id}`)) out.push({ kind: k, f });
      }
    }
    return out;
  }

  draw() {
    const toMap = this.ctx.toMap;
    const fs = [];
    this.clearLabels();
    if (this.incident) {
      const inc = toMap(this.incident);
      for (const { kind, f } of this.chosen()) {
        const to = toMap(center(f.geometry));
        const color = this.ctx.resourceColor(kind);
        fs.push(feature({ type: 'LineString', coordinates: [inc, to] }, { role: 'link', kind, id: f.properties.id, color, distance_m: f.properties.distance_m }));
        this.label([(inc[0] + to[0]) / 2, (inc[1] + to[1]) / 2], distance(f.properties.distance_m), color, `${kind}/${f.properties.id}`);
      }
      fs.push(feature({ type: 'Point', coordinates: inc }, { role: 'incident' }));
    }
    this.ctx.overlay.set(src, fs);
  }

  // label puts a distance on the map: a DOM marker (the map's glyphs have no Latin
  // digits; the page draws its few map texts with the system's CJK font).
  label(at, text, color, key) {
    const { map, maplibre } = this.ctx;
    if (!map || !maplibre) return;
    const e = el('div', { class: 'dist-label', 'data-key': key, style: { '--c': color } }, text);
    this.labels.push(new maplibre.Marker({ element: e }).setLngLat(at).addTo(map));
  }

  clearLabels() {
    for (const m of this.labels) m.remove();
    this.labels = [];
  }

  fit() {
    const map = this.ctx.map;
    if (!map || !this.incident) return;
    const ps = [this.incident, ...this.chosen().map(({ f }) => center(f.geometry))].map(this.ctx.toMap);
    const xs = ps.map((p) => p[0]), ys = ps.map((p) => p[1]);
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], {
      padding: { top: 6 * rem, bottom: 3 * rem, left: 34 * rem, right: 33 * rem }, maxZoom: 16.5, duration: 600,
    });
  }

  // ---- results ------------------------------------------------------------------------

  resultsBox() {
    const r = this.result;
    if (!r) return el('div', { class: 'results' });
    const box = el('div', { class: 'results' },
      el('div', { class: 'summary' }, el('div', {}, el('span', { class: 'incident-dot' }), t('incident'), ' ',
        el('span', { class: 'muted small' }, fmtLonLat(r.incident ?? this.incident).replace(',', ', '), ' WGS84'))),
      el('div', { class: 'hint' }, t('lines_hint')));
    for (const k of this.kinds()) {
      const fs = r.resources?.[k]?.features ?? [];
      const rows = fs.map((f) => this.resourceRow(k, f));
      box.append(el('section', { class: 'group', 'data-kind': k },
        el('h3', {}, el('span', { class: 'sw', style: { '--c': this.ctx.resourceColor(k) } }), codeLabel('resources', 'kind', k)),
        el('div', { class: 'rows', 'data-kind': k }, rows.length ? rows : el('div', { class: 'empty' }, t('no_resources')))));
    }
    box.append(this.risksBox(r), this.warningBox(r));
    return box;
  }

  resourceRow(kind, f) {
    const p = f.properties ?? {};
    const id = p.id ?? f.id;
    const key = `${kind}/${id}`;
    const cb = el('input', { type: 'checkbox', checked: this.checked.has(key), 'aria-label': p.name });
    cb.addEventListener('click', (e) => e.stopPropagation());
    cb.addEventListener('change', () => {
      if (cb.checked) this.checked.add(key); else this.checked.delete(key);
      this.draw();
    });
    const extra = [];
    if (p.capacity !== null && p.capacity !== undefined) extra.push(`${fieldLabel('resources', 'capacity')} ${p.capacity.toLocaleString()} ${unit('persons')}`);
    if (p.open === false) extra.push(t('closed_now'));
    return el('div', {
      class: 'res-row with-check', 'data-layer': 'resources', 'data-kind': kind, 'data-id': id, 'data-distance': p.distance_m,
      title: p.address ?? '', onclick: () => this.ctx.fly('resources', id, center(f.geometry)),
    },
    cb,
    el('span', { class: 'res-name' }, p.name ?? `${id}`, extra.length ? el('small', { class: 'sub' }, extra.join(' · ')) : ''),
    el('span', { class: 'res-dist' }, distance(p.distance_m)));
  }

  risksBox(r) {
    const reg = getRegistry();
    const grades = [...reg.risk_grades.choices].reverse();
    const lines = [];
    for (const l of reg.layers) {
      const g = r.risks?.[l.name];
      if (!g) continue;
      lines.push(el('div', { class: 'count-line', 'data-layer': l.name },
        el('span', { class: 'cl-title' }, layerTitle(l.name)),
        el('span', { class: 'cl-chips' }, g.by_grade && Object.keys(g.by_grade).length
          ? grades.map((x) => el('span', { class: 'cchip', title: gradeLabel(x.code), style: { borderColor: gradeColor(x.code) } }, g.by_grade[x.code] ?? 0))
          : ''),
        el('span', { class: 'cl-n' }, g.total.toLocaleString())));
    }
    return el('section', { class: 'group risks' }, el('h3', {}, t('risks_within', { r: distance(r.radius_m) })),
      el('div', { class: 'counts-table' }, lines.length ? lines : el('div', { class: 'empty' }, '0')));
  }

  warningBox(r) {
    const fs = r.in_warning?.features ?? [];
    const rows = fs.slice(0, 30).map((f) => {
      const p = f.properties ?? {};
      const id = p.id ?? f.id;
      return el('div', {
        class: 'res-row', 'data-layer': p.layer, 'data-id': id, 'data-distance': p.distance_m,
        onclick: () => this.ctx.fly(p.layer, id, center(f.geometry)),
      },
      el('span', { class: 'lvl', style: { background: levelColor(p.warning_level) } }, levelLabel(p.warning_level)),
      el('span', { class: 'res-name' }, el('small', { class: 'pre' }, layerTitle(p.layer)), p.name ?? id),
      el('span', { class: 'res-dist' }, distance(p.distance_m)));
    });
    if (fs.length > rows.length) rows.push(el('div', { class: 'more' }, t('more', { n: fs.length - rows.length })));
    return el('section', { class: 'group in-warning' }, el('h3', {}, t('in_warning_within', { r: distance(r.radius_m) }), el('span', { class: 'badge' }, fs.length)),
      el('div', { class: 'rows' }, rows.length ? rows : el('div', { class: 'empty' }, t('none_in_area'))));
  }
}
