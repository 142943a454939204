// chgen client core (wire protocol v1): one Connection per socket, one Channel per stream.
// The same code as core.ts without its types; the declarations are in core.d.ts.

export class ChgenError extends Error {
  constructor(code, message, details = [], stream = null, id = null) {
    super(message);
    this.name = "ChgenError";
    this.code = code;
    this.details = details;
    this.stream = stream;
    this.id = id;
  }
}

function listen(set, listener) {
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

// A listener that throws is reported with console.error; the others still run.
function emit(set, value) {
  for (const listener of [...set]) {
    try {
      listener(value);
    } catch (e) {
      console.error(e);
    }
  }
}

export class Connection {
  constructor(url, options = {}) {
    const W = options.WebSocket || globalThis.WebSocket;
    if (!W) {
      throw new Error(
        "chgen: no WebSocket class; pass one as options.WebSocket (in Node: `import WebSocket from \"ws\"`, the ws package)",
      );
    }
    this.url = url;
    this.opts = options;
    this.WS = W;
    this.socket = null;
    this.current = "connecting";
    this.attempt = 0;
    this.timer = undefined;
    this.lastId = 0;
    this.pending = new Map();
    this.queue = [];
    this.channels = new Map();
    this.multiplexed = false;
    this.stateListeners = new Set();
    this.errorListeners = new Set();
    this.connect();
  }

  get state() {
    return this.current;
  }

  onState(listener) {
    return listen(this.stateListeners, listener);
  }

  onError(listener) {
    return listen(this.errorListeners, listener);
  }

  channel(stream) {
    let channel = this.channels.get(stream);
    if (!channel) {
      this.channels.set(stream, (channel = new Channel(this, stream)));
      if (stream !== null) this.multiplexed = true;
    }
    return channel;
  }

  close(code = 1000, reason) {
    const ws = this.socket;
    this.end();
    if (ws) ws.close(code, reason);
  }

  _send(stream, frame, id) {
    const text = JSON.stringify(stream === null ? frame : { stream, payload: frame });
    if (this.current === "open") this.socket.send(text);
    else if (this.current === "closed") throw new ChgenError("closed", "connection closed", [], stream);
    else if (this.queue.length < (this.opts.queueLimit ?? 256)) this.queue.push([text, id]);
    else throw new ChgenError("queue_full", "send queue full", [], stream);
  }

  _request(stream, type, data, timeout) {
    return new Promise((resolve, reject) => {
      const id = ++this.lastId;
      this._send(stream, { type, data, id }, id);
      const ms = timeout ?? this.opts.requestTimeout ?? 10000;
      const timer = ms > 0 && ms < Infinity ? setTimeout(() => this.fail(id, "timeout", `no answer to ${type} in ${ms} ms`), ms) : undefined;
      this.pending.set(id, { resolve, reject, timer, stream });
    });
  }

  connect() {
    const ws = (this.socket = new this.WS(this.url));
    ws.onopen = () => {
      if (ws !== this.socket) return;
      this.attempt = 0;
      const queue = this.queue;
      this.queue = [];
      for (const frame of queue) ws.send(frame[0]);
      this.setState("open");
    };
    ws.onmessage = (ev) => {
      if (ws === this.socket) this.receive(ev.data);
    };
    ws.onclose = () => {
      if (ws === this.socket) this.drop();
    };
    ws.onerror = () => {};
  }

  setState(state) {
    if (this.current !== state) {
      this.current = state;
      emit(this.stateListeners, state);
    }
  }

  settle(id, error, data) {
    const pending = this.pending.get(id);
    if (pending) {
      this.pending.delete(id);
      clearTimeout(pending.timer);
      this.queue = this.queue.filter((frame) => frame[1] !== id);
      if (error) pending.reject(error);
      else pending.resolve(data);
    }
  }

  fail(id, code, message) {
    const pending = this.pending.get(id);
    if (pending) this.settle(id, new ChgenError(code, message, [], pending.stream, id));
  }

  drop() {
    this.socket = null;
    const queued = new Set(this.queue.map((frame) => frame[1]));
    for (const id of [...this.pending.keys()]) if (!queued.has(id)) this.fail(id, "disconnected", "connection lost");
    const r = this.opts.reconnect;
    if (r === false || this.attempt >= (r?.maxAttempts ?? Infinity)) return this.end();
    if (this.current === "open") this.setState("reconnecting");
    const delay = Math.min(r?.maxDelay ?? 10000, (r?.initialDelay ?? 250) * 2 ** this.attempt++);
    this.timer = setTimeout(() => {
      try {
        this.connect();
      } catch {
        this.drop();
      }
    }, (this.opts.random || Math.random)() * delay);
  }

  end() {
    if (this.current === "closed") return;
    this.socket = null;
    clearTimeout(this.timer);
    this.setState("closed");
    for (const id of [...this.pending.keys()]) this.fail(id, "closed", "connection closed");
    this.queue = [];
  }

  receive(raw) {
    let m;
    let stream = null;
    let channel = this.channels.get(null);
    try {
      m = JSON.parse(raw);
    } catch {}
    if (this.multiplexed && m && typeof m === "object") {
      if ("stream" in m) {
        channel = this.channels.get((stream = m.stream));
        if (!channel) return;
        m = m.payload;
      } else if (m.type === "error") channel = undefined;
    }
    if (!m || typeof m !== "object" || typeof m.type !== "string") {
      return emit(this.errorListeners, new ChgenError("bad_response", "unreadable frame from server", [], stream));
    }
    const id = m.id;
    if (m.type === "error") {
      const e = m.error || {};
      const error = new ChgenError(String(e.code), String(e.message), e.details || [], stream, id ?? null);
      if (id != null) this.settle(id, error);
      else emit(channel && channel._errors.size ? channel._errors : this.errorListeners, error);
    } else if (id != null) this.settle(id, undefined, m.data);
    else if (channel) {
      const handlers = channel._handlers.get(m.type);
      if (handlers) emit(handlers, m.data);
      emit(channel._any, { type: m.type, data: m.data });
    }
  }
}

export class Channel {
  constructor(connection, stream) {
    this.conn = connection;
    this.stream = stream;
    this._handlers = new Map();
    this._any = new Set();
    this._errors = new Set();
  }

  send(type, data) {
    this.conn._send(this.stream, { type, data });
  }

  request(type, data, options) {
    return this.conn._request(this.stream, type, data, options?.timeout);
  }

  on(event, handler) {
    let handlers = this._handlers.get(event);
    if (!handlers) this._handlers.set(event, (handlers = new Set()));
    return listen(handlers, handler);
  }

  onAny(handler) {
    return listen(this._any, handler);
  }

  onError(handler) {
    return listen(this._errors, handler);
  }
}
