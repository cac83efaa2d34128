// The search box of the top bar: what is typed goes to GET /api/v1/search (names,
// addresses, census ids), the results list under the box, and a pick (click, or Enter
// for the highlighted one) flies the map to the feature and opens its popup.

import { layerTitle, t } from './i18n.js';
import { el, getJSON } from './util.js';

const debounceMs = 200;

// setupSearch wires the box; fly(layer, id, [lon, lat] WGS84) shows a feature.
export function setupSearch(input, list, fly) {
  let timer = null;
  let seq = 0;
  let results = [];
  let at = -1;

  const hide = () => { list.hidden = true; at = -1; };
  const pick = (r) => {
    hide();
    input.blur();
    fly(r.layer, r.id, [r.lon, r.lat]);
  };
  const render = (q) => {
    if (!results.length) {
      list.replaceChildren(el('div', { class: 'empty' }, t('search_none', { q })));
    } else {
      list.replaceChildren(...results.map((r, i) => el('div', {
        class: `search-row${i === at ? ' active' : ''}`, role: 'option', 'data-layer': r.layer, 'data-id': r.id,
        onmousedown: (e) => { e.preventDefault(); pick(r); },
      }, el('span', { class: 'search-layer' }, layerTitle(r.layer)), el('span', { class: 'search-name' }, r.name),
      r.address ? el('small', {}, r.address) : '')));
    }
    list.hidden = false;
  };
  const search = async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { results = []; hide(); return; }
    try {
      const r = await getJSON(`/api/v1/search?q=${encodeURIComponent(q)}&limit=12`);
      if (mine !== seq) return;
      results = r.results ?? [];
      at = results.length ? 0 : -1;
      render(q);
    } catch (err) {
      if (mine !== seq) return;
      list.replaceChildren(el('div', { class: 'empty' }, t('failed', { e: err.message ?? err })));
      list.hidden = false;
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, debounceMs);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!results.length) return;
      e.preventDefault();
      at = (at + (e.key === 'ArrowDown' ? 1 : results.length - 1)) % results.length;
      render(input.value.trim());
    } else if (e.key === 'Enter') {
      // No keypress after this: the popup that opens takes the focus, and the Enter
      // would press its close button.
      e.preventDefault();
      clearTimeout(timer);
      if (results[at] && !list.hidden) pick(results[at]);
      else search();
    } else if (e.key === 'Escape') {
      // Escape here closes the list (and leaves the field); the tools stay.
      e.preventDefault();
      hide();
      input.blur();
    }
  });
  input.addEventListener('blur', () => setTimeout(hide, 150));
  input.addEventListener('focus', () => { if (results.length && input.value.trim()) render(input.value.trim()); });
  return { redraw: () => { input.placeholder = t('search_placeholder'); if (!list.hidden) render(input.value.trim()); } };
}
