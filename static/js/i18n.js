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
  // The planner and dispatch tools and the search box.
  tool_planner: ['规划查询', 'Planner'],
  tool_dispatch: ['调度', 'Dispatch'],
  close: ['关闭', 'Close'],
  close_hint: ['关闭（Esc）', 'Close (Esc)'],
  search_placeholder: ['搜索名称、地址或编号', 'Search name, address or ID'],
  search_none: ['没有找到“{q}”', 'Nothing found for “{q}”'],
  mode_circle: ['圆形范围', 'Circle'],
  mode_polygon: ['多边形', 'Polygon'],
  mode_route: ['路线', 'Route'],
  coords: ['经纬度', 'Lon, lat'],
  coords_placeholder: ['经度,纬度 如 114.1200,22.5500', 'lon,lat e.g. 114.1200,22.5500'],
  crs: ['坐标系', 'Coordinates'],
  crs_wgs84: ['WGS84（GPS、天地图）', 'WGS84 (GPS, Tianditu)'],
  crs_gcj02: ['GCJ-02（高德、腾讯）', 'GCJ-02 (AMap, Tencent)'],
  radius: ['半径', 'Radius'],
  buffer: ['缓冲距离', 'Buffer'],
  run_query: ['查询', 'Query'],
  locate: ['定位', 'Locate'],
  finish: ['完成', 'Finish'],
  clear: ['清除', 'Clear'],
  hint_circle: ['点击地图选择场地，或输入坐标后查询', 'Click the map to pick a site, or type coordinates and query'],
  hint_polygon: ['在地图上依次点击多边形顶点，双击或按“完成”闭合', 'Click the polygon’s corners on the map; double-click or press Finish to close it'],
  hint_route: ['在地图上依次点击路线各点，双击或按“完成”结束', 'Click the route’s points on the map; double-click or press Finish to end it'],
  vertices: ['已选 {n} 个点', '{n} points'],
  report_title: ['报告标题', 'Report title'],
  report_title_placeholder: ['可选，如 东门改造工程', 'optional, e.g. Dongmen renewal works'],
  filters: ['筛选', 'Filters'],
  all_grades: ['全部等级', 'All grades'],
  querying: ['正在查询…', 'Querying…'],
  bad_coords: ['坐标格式不对：请输入“经度,纬度”', 'Cannot read the coordinates: type “lon,lat”'],
  bad_number: ['{what}必须是大于 0 的数字', '{what} must be a number above 0'],
  results_total: ['范围内共 {n} 处', '{n} within the area'],
  area_circle: ['以 {c} 为中心、半径 {r} 的圆', 'circle of {r} around {c}'],
  area_polygon: ['多边形，面积 {a}', 'polygon, area {a}'],
  area_route: ['路线长 {l}，两侧各 {b}', 'route of {l}, {b} each side'],
  download_csv: ['下载 CSV', 'CSV'],
  download_geojson: ['下载 GeoJSON', 'GeoJSON'],
  briefing: ['打印简报', 'Briefing'],
  nearest_each: ['各图层最近（不限范围）', 'Nearest of each layer (any distance)'],
  in_warning_nearby: ['范围内预警中的监测对象', 'Monitored objects in warning in the area'],
  none_in_area: ['范围内没有', 'none in the area'],
  no_grade: ['未分级', 'no grade'],
  show_more: ['再显示 {n} 条（还有 {m} 条）', 'show {n} more ({m} left)'],
  incident: ['事发地点', 'Incident'],
  mark_incident: ['标记事发地点', 'Mark incident'],
  marking: ['请在地图上点击事发地点…', 'Click the incident on the map…'],
  per_kind: ['每类数量', 'Per kind'],
  min_capacity: ['避难场所容量不少于', 'Shelter capacity ≥'],
  open_only: ['只看开放的避难场所', 'Open shelters only'],
  risks_within: ['{r} 内的风险', 'Risks within {r}'],
  in_warning_within: ['{r} 内预警中的监测对象', 'Monitored objects in warning within {r}'],
  no_resources: ['没有符合条件的资源', 'No resource matches'],
  closed_now: ['未开放', 'closed'],
  lines_hint: ['勾选的资源在地图上连线并标注距离', 'Checked resources are linked to the incident on the map, with distances'],
  failed: ['出错了：{e}', 'Failed: {e}'],

  // ---- sign-in and editor controls (auth.js, main.js, alerts.js) ----
  sign_in: ['登录', 'Sign in'],
  sign_out: ['退出登录', 'Sign out'],
  sign_in_title: ['登录', 'Sign in'],
  sign_in_hint: ['粘贴管理员发给您的令牌（rmk_…）。令牌只用于换取本浏览器的登录会话，不会保存在页面中。',
    'Paste the token your administrator gave you (rmk_…). It is only exchanged for this browser\'s session and is not kept by the page.'],
  sign_in_required: ['本服务器需要登录后才能查看地图。', 'This server needs you to sign in to see the map.'],
  token: ['令牌', 'Token'],
  signed_in_as: ['已登录：{name}（{role}）', 'Signed in: {name} ({role})'],
  sign_in_failed: ['登录失败：{e}', 'Sign-in failed: {e}'],
  close: ['关闭', 'Close'],
  role_viewer: ['查看', 'viewer'],
  role_editor: ['编辑', 'editor'],
  role_sensor: ['传感器', 'sensor'],
  role_admin: ['管理员', 'admin'],
  ack: ['确认', 'Acknowledge'],
  ack_failed: ['确认失败：{e}', 'Acknowledgement failed: {e}'],
  set_signal: ['设置{kind}预警信号', 'Set the {kind} signal'],
  signal_failed: ['设置信号失败：{e}', 'Setting the signal failed: {e}'],
  session_ended: ['登录已失效，请重新登录', 'Your session ended: sign in again'],

  // ---- hazard status control (popup.js; part B adds its strings here) ----
  // The rectification workflow in a risk point's popup (hazard.js): status, due date,
  // history, and for editors the move control.
  hazard: ['隐患整改', 'Hazard rectification'],
  hazard_due: ['整改期限', 'Due'],
  hazard_no_due: ['未设期限', 'no due date'],
  hazard_overdue: ['已逾期 {n} 天', 'overdue by {n} days'],
  hazard_history: ['整改记录', 'History'],
  hazard_to: ['变更为', 'Move to'],
  hazard_note: ['说明', 'Note'],
  hazard_note_required: ['说明（必填）', 'Note (required)'],
  hazard_due_on: ['整改期限', 'Due date'],
  hazard_submit: ['提交', 'Submit'],
  hazard_conflict: ['该隐患刚被他人修改，已重新加载，请核对后再提交', 'Someone else just changed this hazard; it was reloaded: check it and submit again'],
  hazard_failed: ['变更失败：{e}', 'The move failed: {e}'],
  hazard_created: ['登记', 'recorded'],
  hazard_need_note: ['请填写说明', 'Write a note'],
  hazard_need_due: ['请选择整改期限', 'Choose a due date'],
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
  km: ['千米', 'km'],
  m2: ['平方米', 'm²'],
  km2: ['平方千米', 'km²'],
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

// distance writes meters for people: "380 米" / "380 m", "1.25 千米" / "1.25 km" from 10 km.
export function distance(m) {
  if (m === null || m === undefined || !Number.isFinite(m)) return '—';
  if (m >= 10000) return `${(m / 1000).toFixed(1)} ${unit('km')}`;
  return `${Math.round(m).toLocaleString('en-US')} ${unit('m')}`;
}

// area writes square meters for people (km² from 1 km²).
export function area(m2) {
  if (!Number.isFinite(m2)) return '—';
  if (m2 >= 1e6) return `${(m2 / 1e6).toFixed(2)} ${unit('km2')}`;
  return `${Math.round(m2).toLocaleString('en-US')} ${unit('m2')}`;
}
