// The flood list of the flood view: every waterlogging spot (also reservoirs and
// drain nodes), worst warning level first, then deepest, with the current depth
// against the warning depth, the trend, when its sensor last reported and a
// sparkline of the last 6 hours. Spots come from POST /api/v1/query and stay current
// through the stream's change events (each carries the spot's full state); sensors
// (last seen, which sensor to draw) from GET /api/v1/sensors every minute.
//
// Drills: a spot whose drill level is worse than its real level is listed at the
// drill level and depth, marked 演练 (DRILL), its sparkline the drill readings; the
// real depth stays beside it. So during a drill the list shows the drill picture
// without ever hiding a real warning that is worse.

import { ago, codeLabel, levelColor, levelLabel, t, unit } from './i18n.js';
import { el, getJSON, levelRank, sparkline } from './util.js';

const maxRows = 40;
const maxSparks = 20;
const sparkTTL = 60e3;

export class FloodList {
  constructor(list, { onDrill, onSelect }) {
    this.list = list;
    this.onDrill = onDrill;
    this.onSelect = onSelect;
    this.spots = new Map(); // id → {id, properties, geometry}
    this.sensors = new Map(); // feature id → sensor (the primary one)
    this.sparks = new Map(); // sensor id:drill → {points, at}
    this.visible = false;
    this.pending = null;
    this.drill = false;
    setInterval(() => this.loadSensors().catch(() => {}), 60e3);
    setInterval(() => { if (this.visible) this.schedule(); }, 30e3);
  }

  async load() {
    const fc = await getJSON('/api/v1/query', {
      method: 'POST', body: { bbox: [-180, -90, 180, 90], filters: { layers: 'waterlogging_spots' }, limit: 10000 },
    });
    this.spots.clear();
    for (const f of fc.features) this.spots.set(f.properties.id ?? f.id, { properties: f.properties, geometry: f.geometry });
    await this.loadSensors();
    this.schedule();
  }

  async loadSensors() {
    const r = await getJSON('/api/v1/sensors?layer=waterlogging_spots');
    this.sensors.clear();
    for (const s of r.sensors) {
      const cur = this.sensors.get(s.feature_id);
      // Water depth first, then water level; others only when nothing else.
      const score = (x) => (x.kind === 'water_depth_cm' ? 2 : x.kind === 'water_level_m' ? 1 : 0);
      if (!cur || score(s) > score(cur)) this.sensors.set(s.feature_id, s);
    }
    this.schedule();
  }

  // change applies a change event of the waterlogging spots layer.
  change(c) {
    if (c.op === 'delete') this.spots.delete(c.id);
    else this.spots.set(c.id, { properties: { ...c.properties, id: c.id }, geometry: c.geometry, time: c.time });
    this.schedule();
  }

  show(on) {
    this.visible = on;
    if (on) this.schedule();
  }

  entries() {
    const out = [];
    for (const [id, s] of this.spots) {
      const p = s.properties;
      const real = levelRank(p.warning_level), dr = levelRank(p.drill_warning_level);
      const drill = p.drill_warning_level != null && dr > real;
      const hasDrill = p.drill_warning_level != null || p.drill_depth_cm != null;
      const sensor = this.sensors.get(id);
      let depth = drill ? p.drill_depth_cm : p.current_depth_cm;
      if (hasDrill && !drill && p.drill_depth_cm != null && p.current_depth_cm == null) depth = null;
      out.push({ id, p, s, sensor, drill, hasDrill, rank: Math.max(real, drill ? dr : 0), depth: depth ?? null, level: drill ? p.drill_warning_level : (p.warning_level ?? 'none') });
    }
    out.sort((a, b) => b.rank - a.rank || (b.depth ?? -1) - (a.depth ?? -1) || String(a.p.name).localeCompare(String(b.p.name)) || a.id - b.id);
    return out;
  }

  schedule() {
    if (this.pending) return;
    this.pending = setTimeout(() => { this.pending = null; this.render(); }, 250);
  }

  render() {
    const all = this.entries();
    const drill = all.some((e) => e.hasDrill);
    if (drill !== this.drill) {
      this.drill = drill;
      this.onDrill(drill);
    }
    if (!this.visible) return;
    if (!all.length) {
      this.list.replaceChildren(el('div', { class: 'empty' }, t('no_flood_points')));
      return;
    }
    const rows = all.slice(0, maxRows).map((e, i) => this.row(e, i < maxSparks));
    if (all.length > maxRows) rows.push(el('div', { class: 'more' }, t('more', { n: all.length - maxRows })));
    this.list.replaceChildren(...rows);
    const keep = new Set(all.slice(0, maxSparks).map((e) => e.sensor && `${e.sensor.id}:${e.drill}`));
    for (const k of this.sparks.keys()) if (!keep.has(k)) this.sparks.delete(k);
  }

  row(e, withSpark) {
    const p = e.p;
    const warn = p.warning_depth_cm;
    const st = e.sensor?.state;
    let valueText;
    if (e.depth !== null) valueText = `${e.depth.toFixed(0)}${warn ? ` / ${warn} ${unit('cm')}` : ` ${unit('cm')}`}`;
    else if (st?.value !== undefined && st?.value !== null) valueText = `${st.value.toFixed(2)} ${unit(e.sensor.unit)}`;
    else valueText = '—';
    const pct = e.depth !== null && warn ? Math.min(100, (e.depth / warn) * 100) : 0;
    const trend = p.trend === 'rising' ? '↑' : p.trend === 'falling' ? '↓' : p.trend === 'steady' ? '→' : '';
    const seen = st?.time ?? p.updated_at;
    const spark = el('span', { class: 'spark-box' });
    if (withSpark && e.sensor) this.fillSpark(spark, e.sensor, e.drill, e.sensor.kind === 'water_depth_cm' ? warn : e.sensor.thresholds?.blue);
    const real = e.drill && p.current_depth_cm != null ? el('span', { class: 'muted real-depth' }, `(${p.current_depth_cm.toFixed(0)} ${unit('cm')})`) : '';
    return el('div', {
      class: `flood-row${e.drill ? ' drill' : ''}`, 'data-id': e.id, 'data-rank': e.rank, 'data-depth': e.depth ?? -1,
      'data-name': p.name, onclick: () => this.onSelect(e.id, e.s),
    },
    el('span', { class: 'lvl', style: { background: levelColor(e.level) } }, e.rank > 0 ? levelLabel(e.level).replace(/预警$/, '') : '—'),
    el('span', { class: 'fname' }, e.drill ? el('span', { class: 'drill-tag' }, t('drill')) : '', p.name,
      el('small', {}, codeLabel('waterlogging_spots', 'kind', p.kind))),
    el('span', { class: 'depth' }, el('span', { class: 'depth-text' }, valueText, real),
      el('span', { class: 'bar' }, el('span', { style: { width: `${pct}%`, background: levelColor(e.rank > 0 ? e.level : 'blue') } }))),
    el('span', { class: `trend ${p.trend ?? ''}`, title: p.trend ? t(p.trend) : '' }, trend),
    el('span', { class: 'seen' }, ago(seen)),
    spark);
  }

  fillSpark(box, sensor, drill, warn) {
    const k = `${sensor.id}:${drill}`;
    const c = this.sparks.get(k);
    const draw = (pts) => box.replaceChildren(sparkline(pts, { w: 120, h: 30, warn, color: drill ? '#c58af9' : '#9ecbff' }));
    if (c) draw(c.points);
    if (c && Date.now() - c.at < sparkTTL) return;
    this.sparks.set(k, { points: c?.points ?? [], at: Date.now() });
    const from = new Date(Date.now() - 6 * 3600e3).toISOString();
    getJSON(`/api/v1/sensors/${sensor.id}/readings?from=${encodeURIComponent(from)}&max_points=72&drill=${drill}`)
      .then((r) => {
        this.sparks.set(k, { points: r.points, at: Date.now() });
        if (box.isConnected) draw(r.points);
      })
      .catch(() => {});
  }
}
