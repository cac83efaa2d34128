// Every text of the page, Chinese first, English second: the page's own words in
// one table here; the names of layers, fields, codes, grades, levels and sensor kinds
// come from the layer registry (GET /api/v1/layers), which has both.

const table = {
  title: ['罗湖区风险一张图', 'Luohu risk map'],
  flood_view: ['三防视图', 'Flood view'],
  wall_view: ['总览视图', 'Wall view'],
  lang_switch: ['English', '中文'],
  live: ['实时', 'Live'],
  reconnecting: ['重新连接中', 'Reconnecting'],
  disconnected: ['已断开', 'Disconnected'],
  loading: ['正在加载…', 'Loading…'],
  disconnected_banner: ['与服务器的连接已断开：下面是 {t} 时的画面，恢复后自动更新', 'Disconnected from the server: the picture below is from {t}; it updates by itself once the server is back'],
  drill_banner: ['演练进行中：紫色圆圈和标有「演练」的数值是模拟数据，实测数据照常显示', 'Drill in progress: violet rings and values marked DRILL are simulated; real readings show as usual'],
  typhoon: ['台风', 'Typhoon'],
  rainstorm: ['暴雨', 'Rainstorm'],
  signal_none: ['无预警', 'none'],
  signal_white: ['白色', 'white'],
  signal_blue: ['蓝色', 'blue'],
  signal_yellow: ['黄色', 'yellow'],
  signal_orange: ['橙色', 'orange'],
  signal_red: ['红色', 'red'],
  counts: ['图层统计', 'Layers'],
  legend: ['图例', 'Legend'],
  risk_grade: ['风险等级', 'Risk grade'],
  warning_level: ['预警等级', 'Warning level'],
  no_data: ['无数据', 'No data'],
  drill: ['演练', 'DRILL'],
  drill_ring: ['演练数据', 'Drill picture'],
  alerts: ['告警', 'Alerts'],
  no_alerts: ['当前没有未处理的告警', 'No open alerts'],
  acked: ['已确认', 'acknowledged'],
  flood_points: ['积水点（按预警等级、水深排序）', 'Flood points (by warning level, then depth)'],
  no_flood_points: ['没有积水点', 'No flood points'],
  depth: ['水深', 'Depth'],
  warn_depth: ['警戒', 'warning'],
  last_seen: ['最后数据', 'Last seen'],
  sensors: ['传感器', 'Sensors'],
  recent: ['近 6 小时', 'Last 6 hours'],
  no_sensors: ['没有传感器', 'No sensors'],
  reason_threshold: ['超过阈值', 'threshold crossed'],
  reason_no_data: ['传感器无数据', 'sensor silent'],
  reason_recovered: ['恢复', 'recovered'],
  reason_config: ['阈值调整', 'thresholds changed'],
  yes: ['是', 'yes'],
  no: ['否', 'no'],
  rising: ['上升', 'rising'],
  falling: ['下降', 'falling'],
  steady: ['平稳', 'steady'],
  cluster_zoom: ['{n} 个风险点：放大查看', '{n} risk points: zoom in'],
  roads: ['整治道路', 'Rectified roads'],
  resources: ['应急资源', 'Resources'],
  no_webgl: ['此浏览器无法显示地图：需要 WebGL 2（请开启硬件加速或换用新版 Chrome / Edge / Firefox）。告警和积水点列表仍在右侧更新。',
    'This browser cannot show the map: it needs WebGL 2 (turn on hardware acceleration or use a current Chrome, Edge or Firefox). Alerts and the flood list still update on the right.'],
  server_down: ['无法连接服务器，正在重试…', 'Cannot reach the server; retrying…'],
  ago_s: ['{n} 秒前', '{n} s ago'],
  ago_m: ['{n} 分钟前', '{n} min ago'],
  ago_h: ['{n} 小时前', '{n} h ago'],
  more: ['另有 {n} 条', '{n} more'],
};

// Units of the registry's fields and sensor kinds (the registry gives them in SI /
// English abbreviations): what each reads as in Chinese and in English.
const units = {
  persons: ['人', 'persons'],
  m: ['米', 'm'],
  cm: ['厘米', 'cm'],
  mm: ['毫米', 'mm'],
  deg: ['度', '°'],
  'mm/h': ['毫米/小时', 'mm/h'],
};

let lang = localStorage.getItem('riskmap.lang') === 'en' ? 'en' : 'zh';
let registry = null;
const listeners = [];

export const getLang = () => lang;

// setLang switches the language and tells every listener to redraw.
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  localStorage.setItem('riskmap.lang', lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  for (const fn of listeners) fn(lang);
}

export const onLang = (fn) => listeners.push(fn);

// t is the page's text for key, with {name} placeholders filled from args.
export function t(key, args = {}) {
  const e = table[key];
  let s = e ? e[lang === 'en' ? 1 : 0] : key;
  for (const [k, v] of Object.entries(args)) s = s.replaceAll(`{${k}}`, v);
  return s;
}

// unit is a unit's label in the current language (an unknown unit as it is).
export function unit(u) {
  const e = units[u];
  return e ? e[lang === 'en' ? 1 : 0] : (u ?? '');
}

// setRegistry keeps GET /api/v1/layers for the labels below.
export function setRegistry(r) { registry = r; }
export const getRegistry = () => registry;

const pick = (o, zhKey = 'label_zh', enKey = 'label_en') => (o ? (lang === 'en' ? o[enKey] : o[zhKey]) || o[zhKey] || o[enKey] : undefined);

export function layerInfo(name) { return registry?.layers.find((l) => l.name === name); }
export function layerTitle(name) { return pick(layerInfo(name), 'title_zh', 'title_en') ?? name; }
export function fieldInfo(layer, field) { return layerInfo(layer)?.fields.find((f) => f.name === field); }
export function fieldLabel(layer, field) { return pick(fieldInfo(layer, field)) ?? field; }

// codeLabel is the label of an enum code of a field (or the code itself).
export function codeLabel(layer, field, code) {
  const c = fieldInfo(layer, field)?.enum?.choices.find((x) => x.code === code);
  return pick(c) ?? code;
}
export function gradeLabel(code) { return pick(registry?.risk_grades.choices.find((c) => c.code === code)) ?? code; }
export function levelLabel(code) {
  if (code === 'no_data') return t('no_data');
  const c = registry?.warning_levels.choices.find((x) => x.code === code);
  return c ? pick(c) : code;
}
export function levelColor(code) {
  if (code === 'no_data') return '#616161';
  return registry?.warning_levels.choices.find((c) => c.code === code)?.color ?? '#888';
}
export function gradeColor(code) { return registry?.risk_grades.choices.find((c) => c.code === code)?.color ?? '#888'; }
export function sensorKind(code) { return registry?.sensor_kinds.find((k) => k.code === code); }
export function sensorKindLabel(code) { return pick(sensorKind(code)) ?? code; }

// ago says how long ago an ISO time was, in words.
export function ago(iso) {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 90) return t('ago_s', { n: s });
  if (s < 90 * 60) return t('ago_m', { n: Math.round(s / 60) });
  return t('ago_h', { n: Math.round(s / 3600) });
}

// applyStatic fills every element with a data-t attribute with its text.
export function applyStatic(root = document) {
  for (const e of root.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
}
