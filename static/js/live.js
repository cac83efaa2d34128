// The live stream (GET /api/v1/events) with its connection state. The browser's
// EventSource retries by itself after a dropped connection (sending Last-Event-ID);
// when it gives up (an error status, e.g. 503 while the server starts) this opens a
// new one with last_event_id= so nothing is missed, backing off from 1 s to 30 s.
// State: 'live', 'reconnecting' (retrying, for up to disconnectAfter ms), then
// 'disconnected' until the stream is open again.

const disconnectAfter = 8000;

export class LiveStream {
  // handlers: {change, alert, alert_ack, signal, reload: fn(data, id)}; onState(state).
  constructor(url, handlers, onState) {
    this.url = url;
    this.handlers = handlers;
    this.onState = onState;
    this.lastId = null;
    this.es = null;
    this.state = null;
    this.backoff = 1000;
    this.downSince = null;
    this.timer = null;
    this.watch = setInterval(() => this.check(), 1000);
  }

  start() {
    this.open();
  }

  open() {
    clearTimeout(this.timer);
    this.es?.close();
    const u = this.lastId ? `${this.url}?last_event_id=${encodeURIComponent(this.lastId)}` : this.url;
    const es = new EventSource(u);
    this.es = es;
    es.onopen = () => {
      const resumed = this.state !== null;
      this.backoff = 1000;
      this.downSince = null;
      this.set('live');
      // After a drop, refresh what the stream may not replay (acknowledgements
      // made meanwhile, a reload the page missed).
      if (resumed) this.handlers.resync?.();
    };
    es.onerror = () => {
      this.downSince ??= Date.now();
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up: open a new stream later, resuming after lastId.
        this.timer = setTimeout(() => this.open(), this.backoff);
        this.backoff = Math.min(30000, this.backoff * 2);
      }
      this.check();
    };
    // An id-only block at the start carries the newest id: keep it.
    es.onmessage = (ev) => { if (ev.lastEventId) this.lastId = ev.lastEventId; };
    for (const type of ['change', 'alert', 'alert_ack', 'signal', 'reload']) {
      es.addEventListener(type, (ev) => {
        if (ev.lastEventId) this.lastId = ev.lastEventId;
        let data = null;
        try { data = JSON.parse(ev.data); } catch { /* a reload may carry no JSON */ }
        try {
          this.handlers[type]?.(data, ev.lastEventId);
        } catch (err) {
          console.warn('riskmap: handling', type, err);
        }
      });
    }
  }

  check() {
    if (this.downSince === null) return;
    this.set(Date.now() - this.downSince > disconnectAfter ? 'disconnected' : 'reconnecting');
  }

  set(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }
}
