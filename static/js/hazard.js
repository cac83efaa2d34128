// The hazard rectification section of a risk point's popup: its status, due date
// (and whether overdue), the history of its moves — and, for an editor (auth.js
// canEdit()), a control to move it as the workflow allows (GET /api/v1/hazards/{id}
// lists the moves: a note where required, a due date where taken). The move is sent
// with If-Match (the point's version), so a move made on a stale picture is refused
// (412) and the section reloads. Viewers see no control. The map follows the move by
// itself, through the event stream.

import { canEdit, onIdentity, writeFetch } from './auth.js';
import { codeLabel, getLang, t } from './i18n.js';
import { el, getJSON } from './util.js';

let styled = false;
function style() {
  if (styled) return;
  styled = true;
  document.head.append(el('link', { rel: 'stylesheet', href: '/app/css/hazard.css' }));
}

const statusLabel = (code) => codeLabel('risk_points', 'hazard_status', code);
const statusColor = { open: '#e67e22', rectifying: '#f1c40f', closed: '#27ae60' };

function when(iso) {
  return new Date(iso).toLocaleString(getLang() === 'en' ? 'en-GB' : 'zh-CN',
    { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

// hazardSection returns the section for risk point id; it fills itself in.
export function hazardSection(id) {
  style();
  const box = el('div', { class: 'hazard', 'data-hazard': id }, el('div', { class: 'muted' }, t('loading')));
  let state = null;
  const render = (msg) => {
    const h = state;
    const head = el('div', { class: 'hazard-now' },
      el('span', { class: 'chip hazard-status', 'data-status': h.status, style: { background: statusColor[h.status] ?? '#888', color: '#111' } },
        statusLabel(h.status)),
      el('span', { class: 'muted' }, `${t('hazard_due')}: ${h.due_on ?? t('hazard_no_due')}`),
      h.overdue ? el('span', { class: 'hazard-overdue' }, t('hazard_overdue', { n: h.days_overdue })) : null);
    const hist = el('ol', { class: 'hazard-history' });
    for (const s of h.history) {
      hist.append(el('li', {},
        `${when(s.at)} · ${s.from ? `${statusLabel(s.from)} → ${statusLabel(s.to)}` : `${t('hazard_created')} ${statusLabel(s.to)}`} · ${s.actor}`,
        s.due_on ? ` · ${t('hazard_due')} ${s.due_on}` : '',
        s.note ? ` · ${s.note}` : ''));
    }
    box.replaceChildren(el('h4', {}, t('hazard')), head, el('h4', { style: { marginTop: '0.5rem' } }, t('hazard_history')), hist);
    if (canEdit() && h.moves.length) box.append(form(h, msg));
  };
  const load = async (msg) => {
    state = await getJSON(`/api/v1/hazards/${id}`);
    render(msg);
  };
  const form = (h, msg) => {
    const to = el('select', { name: 'to' }, h.moves.map((m) => el('option', { value: m.to }, statusLabel(m.to))));
    const note = el('textarea', { name: 'note', maxlength: 2000 });
    const due = el('input', { type: 'date', name: 'due_on' });
    const noteLabel = el('label', {}, t('hazard_note'));
    const dueLabel = el('label', {}, t('hazard_due_on'));
    const out = el('div', { class: 'hazard-msg' }, msg ?? '');
    const submit = el('button', { type: 'submit' }, t('hazard_submit'));
    const move = () => h.moves.find((m) => m.to === to.value);
    const sync = () => {
      const m = move();
      noteLabel.textContent = m.note_required ? t('hazard_note_required') : t('hazard_note');
      dueLabel.hidden = due.hidden = m.due === 'none';
    };
    to.addEventListener('change', sync);
    const f = el('form', { class: 'hazard-form' }, el('label', {}, t('hazard_to')), to, noteLabel, note, dueLabel, due, submit, out);
    sync();
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const m = move();
      if (m.note_required && !note.value.trim()) { out.textContent = t('hazard_need_note'); return; }
      if (m.due === 'required' && !due.value) { out.textContent = t('hazard_need_due'); return; }
      const body = { to: m.to, note: note.value.trim() };
      if (m.due !== 'none' && due.value) body.due_on = due.value;
      submit.disabled = true;
      try {
        const resp = await writeFetch(`/api/v1/hazards/${id}/status`, {
          method: 'POST', headers: { 'If-Match': `"${h.version}"` }, body: JSON.stringify(body),
        });
        const data = await resp.json().catch(() => null);
        if (resp.status === 412) { await load(t('hazard_conflict')); return; }
        if (!resp.ok) { out.textContent = t('hazard_failed', { e: data?.error ?? resp.status }); return; }
        state = data;
        render();
      } catch (err) {
        out.textContent = t('hazard_failed', { e: err.message ?? err });
      } finally {
        submit.disabled = false;
      }
    });
    return f;
  };
  load().catch((err) => { box.textContent = String(err.message ?? err); });
  // Signing in or out while the popup is open shows or hides the control.
  const off = onIdentity(() => {
    if (!box.isConnected && state) { off(); return; }
    if (state) render();
  });
  return box;
}
