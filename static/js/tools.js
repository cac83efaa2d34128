// The tools of the wall map: the planner (规划查询: what risk is near this site, in a
// circle, a polygon or along a route; CSV, GeoJSON and the briefing) and the dispatch
// panel (调度: the nearest resources to an incident). The wall map stays the default
// view: a tool opens in a side panel from its button in the top bar, in place of the
// counts and legend, and Escape or the close button returns to the plain wall map.
// While the planner is open a click on the map picks its site or corners; the dispatch
// panel takes one click after "mark incident". What the tools draw on the map (rings,
// polygons, routes, lines to resources) are GeoJSON sources of their own here.

import { Dispatch } from './dispatch.js';
import { Planner } from './planner.js';
import { t } from './i18n.js';
import { Overlay } from './toolkit.js';

const $ = (id) => document.getElementById(id);

// setupTools wires the top bar's tool buttons to the side panel. ctx: map (or null
// without WebGL), maplibre, cfg, toMap (WGS84 → the map's coordinates), fromMap (the
// map's → WGS84), openPopup(layer, id, mapLngLat), resourceColor(kind), beforeId.
export function setupTools(ctx) {
  const overlay = new Overlay(ctx.map, ctx.beforeId);
  const full = { ...ctx, overlay, fly };
  const tools = { planner: new Planner(full), dispatch: new Dispatch(full) };
  const panel = $('tool-panel');
  const body = $('tool-body');
  const api = { active: null, tools, overlay };

  // fly shows a feature (WGS84 [lon, lat]) and opens its popup.
  function fly(layer, id, lonlat) {
    if (!ctx.map || !lonlat) return;
    const ll = ctx.toMap(lonlat);
    ctx.map.flyTo({ center: ll, zoom: Math.max(ctx.map.getZoom(), 16.5), speed: 1.8 });
    if (layer) ctx.openPopup(layer, id, ll);
  }

  function renderButtons() {
    for (const name of Object.keys(tools)) {
      const b = $(`tool-${name}`);
      b.textContent = t(`tool_${name}`);
      b.classList.toggle('active', api.active === name);
      b.setAttribute('aria-pressed', api.active === name ? 'true' : 'false');
    }
    $('tool-close').title = t('close_hint');
    $('tool-close').setAttribute('aria-label', t('close'));
  }

  function open(name) {
    if (api.active === name) return;
    if (api.active) tools[api.active].unmount();
    api.active = name;
    panel.hidden = false;
    panel.dataset.tool = name;
    document.body.classList.add('tool-open');
    $('tool-title').textContent = t(`tool_${name}`);
    tools[name].mount(body);
    renderButtons();
  }

  function close() {
    if (!api.active) return;
    tools[api.active].unmount();
    api.active = null;
    panel.hidden = true;
    delete panel.dataset.tool;
    body.replaceChildren();
    document.body.classList.remove('tool-open');
    if (ctx.map) ctx.map.getCanvas().style.cursor = '';
    renderButtons();
  }

  for (const name of Object.keys(tools)) {
    $(`tool-${name}`).addEventListener('click', () => (api.active === name ? close() : open(name)));
  }
  $('tool-close').addEventListener('click', close);
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented) return;
    // Escape in a field of the panel first leaves the field.
    if (e.target instanceof HTMLElement && e.target.closest('#tool-panel') && /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) {
      e.target.blur();
    }
    close();
  });

  if (ctx.map) {
    ctx.map.on('dblclick', (e) => {
      if (api.active && tools[api.active].onDblClick?.(e)) e.preventDefault();
    });
    ctx.map.on('mousemove', (e) => {
      if (!api.active) return;
      tools[api.active].onMove?.(e);
      const c = tools[api.active].cursor?.(e);
      if (c !== undefined) ctx.map.getCanvas().style.cursor = c;
    });
  }

  api.open = open;
  api.close = close;
  // onMapClick is asked first by the page's click handler: true when a tool took it.
  api.onMapClick = (e) => !!(api.active && tools[api.active].onClick?.(e));
  api.redraw = () => {
    renderButtons();
    if (api.active) {
      $('tool-title').textContent = t(`tool_${api.active}`);
      const tool = tools[api.active];
      if (tool.redraw) tool.redraw(); else tool.render();
    }
  };
  renderButtons();
  return api;
}

