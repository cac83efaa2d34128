// Popups: a click on any feature shows its registry fields in plain words (GET
// /api/v1/features/{layer}/{id}); for monitored objects also their sensors with
// live values and the last 6 hours of readings (GET
// /api/v1/features/{layer}/{id}/sensors, /api/v1/sensors/{id}/readings); for risk
// points the hazard's rectification status, due date and history, with the move
// control for editors (hazard.js).

import {
  ago, codeLabel, fieldInfo, fieldLabel, gradeColor, layerInfo, layerTitle, levelColor, levelLabel, sensorKindLabel, t, unit,
} from './i18n.js';
import { el, getJSON, sparkline } from './util.js';
import { hazardSection } from './hazard.js';

// hazard_status shows in the hazard section (hazard.js), with its due date and history.
const hidden = new Set(['name', 'hazard_status']);

// formatValue writes a property value in words: enum labels, units, yes/no.
export function formatValue(layer, field, v) {
  if (v === null || v === undefined || v === '') return null;
  const f = fieldInfo(layer, field);
  if (field === 'risk_grade') return codeLabel(layer, field, v);
  if (field === 'warning_level' || field === 'drill_warning_level') return levelLabel(v);
  if (f?.enum) return codeLabel(layer, field, v);
  if (typeof v === 'boolean') return t(v ? 'yes' : 'no');
  if (typeof v === 'number') return `${Number.isInteger(v) ? v : v.toFixed(1)}${f?.unit ? ' ' + unit(f.unit) : ''}`;
  return String(v);
}

function chip(color, text) {
  return el('span', { class: 'chip', style: { background: color } }, text);
}

// featureBody builds the popup's content for one feature; it fills in the sensors
// when the layer has any.
export async function featureBody(layer, id) {
  const f = await getJSON(`/api/v1/features/${layer}/${id}`);
  const p = f.properties ?? {};
  const box = el('div', { class: 'popup', 'data-layer': layer, 'data-id': id });
  const head = el('div', { class: 'popup-head' }, el('div', { class: 'popup-layer' }, layerTitle(layer)),
    el('h3', { class: 'popup-name' }, p.name ?? `${layer} ${id}`));
  if (p.risk_grade) head.append(chip(gradeColor(p.risk_grade), codeLabel(layer, 'risk_grade', p.risk_grade)));
  if (p.warning_level && p.warning_level !== 'none') head.append(chip(levelColor(p.warning_level), levelLabel(p.warning_level)));
  if (p.drill_warning_level) head.append(chip('#8e44ad', `${t('drill')} ${levelLabel(p.drill_warning_level)}`));
  box.append(head);
  const rows = el('table', { class: 'props' });
  for (const fi of layerInfo(layer)?.fields ?? []) {
    if (hidden.has(fi.name)) continue;
    const v = formatValue(layer, fi.name, p[fi.name]);
    if (v === null) continue;
    rows.append(el('tr', {}, el('th', {}, fieldLabel(layer, fi.name)), el('td', {}, v)));
  }
  box.append(rows);
  if (layer === 'risk_points') box.append(hazardSection(id));
  if (layer === 'slopes' || layer === 'waterlogging_spots') {
    const sbox = el('div', { class: 'popup-sensors' }, el('div', { class: 'muted' }, t('loading')));
    box.append(sbox);
    fillSensors(sbox, layer, id, !!p.drill_warning_level).catch((err) => { sbox.textContent = String(err.message ?? err); });
  }
  return { box, feature: f };
}

async function fillSensors(box, layer, id, drill) {
  const s = await getJSON(`/api/v1/features/${layer}/${id}/sensors`);
  box.replaceChildren(el('h4', {}, `${t('sensors')} · ${t('recent')}`));
  if (!s.sensors?.length) {
    box.append(el('div', { class: 'muted' }, t('no_sensors')));
    return;
  }
  const from = new Date(Date.now() - 6 * 3600e3).toISOString();
  for (const sn of s.sensors.slice(0, 4)) {
    const st = sn.state ?? {};
    const value = st.value === null || st.value === undefined ? '—' : `${st.value.toFixed(1)} ${unit(sn.unit)}`;
    const line = el('div', { class: 'sensor' },
      el('span', { class: 'sensor-kind' }, sensorKindLabel(sn.kind)),
      el('span', { class: 'sensor-value' }, value),
      st.status === 'no_data' ? chip(levelColor('no_data'), t('no_data')) : (st.level && st.level !== 'none' ? chip(levelColor(st.level), levelLabel(st.level)) : ''),
      el('span', { class: 'muted' }, ago(st.time)));
    box.append(line);
    const series = el('div', { class: 'sensor-spark' });
    box.append(series);
    getJSON(`/api/v1/sensors/${sn.id}/readings?from=${encodeURIComponent(from)}&max_points=120&drill=${drill}`)
      .then((r) => series.replaceChildren(sparkline(r.points, { w: 240, h: 40, warn: sn.thresholds?.blue, color: drill ? '#c58af9' : '#9ecbff' })))
      .catch(() => {});
  }
}
