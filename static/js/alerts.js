// The alerts panel: open alerts from GET /api/v1/alerts?open=true, then every
// `alert` and `alert_ack` event of the stream. One row per sensor and track (real or
// drill): a newer alert of the same sensor replaces the older one. Worst first (red,
// orange, yellow, no data, blue, none), real before drill at the same level (a real
// alert never hides among a drill's), then newest. Drill alerts are marked 演练;
// acknowledged ones fade and leave after 10 minutes. The objects of the worst open
// alerts pulse on the map; a click on a row flies there. Memory stays bounded: at most
// maxKept rows are kept, the rest dropped, and the name cache is bounded too.

import { canEdit } from './auth.js';
import { levelColor, levelLabel, layerTitle, sensorKindLabel, t, unit } from './i18n.js';
import { alertRank, el, shortTime } from './util.js';

const maxKept = 300;
const maxShown = 60;
const maxPulses = 20;
const ackedLinger = 10 * 60e3;

export class AlertsPanel {
  // locate(layer, id, object) → Promise<{name, lonlat}> (object: the alert's own, when it has one); fly(alert, where); pulse(list of
  // {key, lonlat, level}) draws the pulsing markers; ack(alert) acknowledges an open
  // alert (offered on each open row to editors and admins only: auth.js canEdit).
  constructor(list, countEl, { locate, fly, pulse, ack }) {
    this.list = list;
    this.countEl = countEl;
    this.locate = locate;
    this.fly = fly;
    this.pulse = pulse;
    this.ackFn = ack;
    this.acking = new Set(); // alert ids being acknowledged
    this.rows = new Map(); // key sensor:drill → alert (+ ackedSeen)
    this.where = new Map(); // layer/id → {name, lonlat}
    this.pending = null;
    setInterval(() => this.prune(), 30e3);
  }

  key(a) { return `${a.sensor_id}:${a.drill ? 1 : 0}`; }

  // load replaces the panel with the open alerts.
  load(alerts) {
    this.rows.clear();
    for (const a of alerts) this.put(a);
    this.schedule();
  }

  put(a) {
    const k = this.key(a);
    const cur = this.rows.get(k);
    if (cur && (cur.id > a.id)) return;
    if (!a.open && !a.acked_at) return;
    a.seenAt = Date.now();
    this.rows.set(k, a);
    this.resolve(a);
  }

  add(a) { this.put(a); this.schedule(); }

  ack(a) {
    const cur = this.rows.get(this.key(a));
    if (cur && cur.id === a.id) {
      cur.open = false;
      cur.acked_at = a.acked_at;
      cur.acked_by = a.acked_by;
      cur.ackedSeen = Date.now();
      this.schedule();
    }
  }

  resolve(a) {
    const wk = `${a.layer}/${a.feature_id}`;
    if (this.where.has(wk)) return;
    this.where.set(wk, null);
    this.locate(a.layer, a.feature_id, a.object).then((w) => {
      this.where.set(wk, w);
      this.schedule();
    }).catch(() => this.where.delete(wk));
  }

  sorted() {
    return [...this.rows.values()].sort((a, b) =>
      (a.open === b.open ? 0 : a.open ? -1 : 1) ||
      alertRank(b.reason === 'no_data' ? 'no_data' : b.to) - alertRank(a.reason === 'no_data' ? 'no_data' : a.to) ||
      (a.drill === b.drill ? 0 : a.drill ? 1 : -1) ||
      Date.parse(b.time) - Date.parse(a.time) || b.id - a.id);
  }

  // prune drops acknowledged rows after a while and keeps at most maxKept rows,
  // and forgets names no row needs.
  prune() {
    const now = Date.now();
    for (const [k, a] of this.rows) if (a.ackedSeen && now - a.ackedSeen > ackedLinger) this.rows.delete(k);
    const all = this.sorted();
    for (const a of all.slice(maxKept)) this.rows.delete(this.key(a));
    const need = new Set([...this.rows.values()].map((a) => `${a.layer}/${a.feature_id}`));
    for (const k of this.where.keys()) if (!need.has(k)) this.where.delete(k);
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = null; this.render(); });
  }

  render() {
    const all = this.sorted();
    const open = all.filter((a) => a.open);
    this.countEl.textContent = String(open.length);
    this.countEl.className = 'badge' + (open.some((a) => !a.drill && alertRank(a.to) >= 2) ? ' hot' : '');
    if (!all.length) {
      this.list.replaceChildren(el('div', { class: 'empty' }, t('no_alerts')));
    } else {
      const rows = all.slice(0, maxShown).map((a) => this.row(a));
      if (all.length > maxShown) rows.push(el('div', { class: 'more' }, t('more', { n: all.length - maxShown })));
      this.list.replaceChildren(...rows);
    }
    const pulses = [];
    for (const a of open) {
      if (pulses.length >= maxPulses) break;
      const level = a.reason === 'no_data' ? 'no_data' : a.to;
      if (alertRank(level) < 1.5) continue;
      const w = this.where.get(`${a.layer}/${a.feature_id}`);
      if (w?.lonlat) pulses.push({ key: `${a.layer}/${a.feature_id}`, lonlat: w.lonlat, level, drill: a.drill });
    }
    this.pulse(pulses);
  }

  row(a) {
    const level = a.reason === 'no_data' ? 'no_data' : a.to;
    const w = this.where.get(`${a.layer}/${a.feature_id}`);
    const name = w?.name ?? `${layerTitle(a.layer)} ${a.feature_id}`;
    const value = a.value === null || a.value === undefined ? '' : `${a.value.toFixed(1)} ${unit(a.unit)}`;
    const thr = a.threshold !== null && a.threshold !== undefined ? ` / ${a.threshold} ${unit(a.unit)}` : '';
    return el('div', {
      class: `alert level-${level}${a.open ? '' : ' acked'}${a.drill ? ' drill' : ''}`,
      'data-id': a.id, 'data-level': level, 'data-drill': a.drill ? 'true' : 'false', 'data-time': a.time,
      title: `#${a.id}`,
      onclick: () => w?.lonlat && this.fly(a, w),
    },
    el('span', { class: 'alert-level', style: { background: levelColor(level) } }, levelLabel(level)),
    el('div', { class: 'alert-main' },
      el('div', { class: 'alert-name' }, a.drill ? el('span', { class: 'drill-tag' }, t('drill')) : '', name),
      el('div', { class: 'alert-detail' }, `${sensorKindLabel(a.kind)} ${value}${thr} · ${t('reason_' + a.reason)}${a.open ? '' : ' · ' + t('acked')}`)),
    el('span', { class: 'alert-time' }, shortTime(a.time)),
    a.open && this.ackFn && canEdit() ? el('button', {
      type: 'button', class: 'alert-ack', 'data-id': a.id, disabled: this.acking.has(a.id),
      onclick: (e) => {
        e.stopPropagation();
        this.acking.add(a.id);
        this.schedule();
        Promise.resolve(this.ackFn(a)).finally(() => { this.acking.delete(a.id); this.schedule(); });
      },
    }, t('ack')) : '');
  }
}
