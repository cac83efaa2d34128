// Who is signed in on the page. EventSource cannot send an Authorization header, so
// the page signs in once with a token (POST /api/v1/session) and the server sets an
// HttpOnly, SameSite=Strict session cookie that the event stream, tiles and API
// accept. Writes made with that cookie must carry the session's CSRF token in the
// X-CSRF-Token header: writeFetch adds it.
//
// The API other modules use:
//   identity()          → {name, role} or null (not signed in)
//   canEdit()           → true for editor and admin
//   onIdentity(fn)      → fn(identity()) on every change, and once at start after the
//                         session was checked (at once if that already happened)
//   writeFetch(url, options) → fetch with credentials 'same-origin' and X-CSRF-Token
//   checkSession(), signIn(token), signOut() → used by the sign-in dialog (main.js)

// hint remembers (in localStorage) that this browser signed in, so a page that
// never signed in does not ask "who am I" and get a 401 on every load; the cookie
// itself is HttpOnly and invisible here.
const hintKey = 'riskmap.signedIn';
const hint = {
  get: () => { try { return localStorage.getItem(hintKey) === '1'; } catch { return false; } },
  set: (on) => { try { if (on) localStorage.setItem(hintKey, '1'); else localStorage.removeItem(hintKey); } catch { /* private mode */ } },
};

let current = null; // {name, role}
let csrf = '';
let checked = false;
const listeners = new Set();

export function identity() {
  return current ? { name: current.name, role: current.role } : null;
}

export function canEdit() {
  return current?.role === 'editor' || current?.role === 'admin';
}

export function onIdentity(fn) {
  listeners.add(fn);
  if (checked) {
    try { fn(identity()); } catch (e) { console.error(e); }
  }
  return () => listeners.delete(fn);
}

function set(body) {
  current = body && body.role ? { name: body.name, role: body.role } : null;
  csrf = body?.csrf ?? '';
  checked = true;
  hint.set(!!current);
  for (const fn of [...listeners]) {
    try { fn(identity()); } catch (e) { console.error(e); }
  }
}

// writeFetch is fetch for writes on the signed-in session: the cookie goes along
// (same origin) and the CSRF token in X-CSRF-Token. A 401 means the session ended
// (expired, signed out elsewhere, token revoked): the page shows signed out.
export async function writeFetch(url, options = {}) {
  const headers = new Headers(options.headers ?? {});
  if (csrf) headers.set('X-CSRF-Token', csrf);
  if (options.body !== undefined && typeof options.body === 'string' && !headers.has('Content-Type')) {
    headers.set('Content-Type', 'application/json');
  }
  const resp = await fetch(url, { ...options, headers, credentials: 'same-origin' });
  if (resp.status === 401 && current) set(null);
  return resp;
}

// checkSession asks who is signed in (GET /api/v1/session) and tells the listeners.
// Unless this browser signed in before (or force), nobody is, without asking.
export async function checkSession(force = false) {
  if (!force && !hint.get()) {
    set(null);
    return null;
  }
  try {
    const resp = await fetch('/api/v1/session', { credentials: 'same-origin', cache: 'no-cache' });
    set(resp.ok ? await resp.json() : null);
  } catch {
    set(current ? { ...current, csrf } : null);
  }
  return identity();
}

// signIn exchanges a token for a session cookie; it throws with the server's message.
export async function signIn(token) {
  const resp = await fetch('/api/v1/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  const body = await resp.json().catch(() => null);
  if (!resp.ok) throw new Error(body?.error ?? `${resp.status}`);
  set(body);
  return identity();
}

// signOut ends the session (DELETE /api/v1/session).
export async function signOut() {
  try {
    await writeFetch('/api/v1/session', { method: 'DELETE' });
  } finally {
    set(null);
  }
}
