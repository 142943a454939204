// chgen client core (wire protocol v1): the JavaScript of core.ts; its types are in core.d.ts.
// Compiled from core.ts by tsc: DO NOT EDIT. Edit core.ts, then run scripts/build-client-core.

/**
 * An error from the server or from the client itself.
 *
 * Server codes: `bad_json`, `bad_frame`, `unknown_stream`, `unknown_type`, `invalid`,
 * `forbidden`, `internal`, `rate_limited` (too many messages: wait {@link ChgenError.retryAfter}
 * milliseconds before sending again), `unavailable` (the server cannot reach its channel layer
 * for now: try again later). The client itself refuses a message that does not fit the spec
 * with `invalid`, before sending it, as the server would. Client codes: `timeout` (no answer
 * in time), `disconnected` (the socket dropped while the request was in flight), `closed`
 * (the connection is closed for good), `queue_full` (too many frames waiting for the socket
 * to open), `bad_response` (the server sent a frame the client cannot read, or, with
 * {@link ClientOptions.checkIncoming}, data that does not fit the spec), `handshake_refused`
 * (the server answered the handshake with an HTTP error; {@link ChgenError.status} has it),
 * `auth_failed` ({@link AuthOptions.token} threw or rejected, or its token could not be sent).
 */
export class ChgenError extends Error {
  constructor(code, message, details = [], stream = null, id = null, status = null, retryAfter = null) {
    super(message);
    this.name = "ChgenError";
    this.code = code;
    this.details = details;
    this.stream = stream;
    this.id = id;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

// The ChgenError of an error frame's `error` object `e` (untrusted: any JSON).
function serverError(e, stream, id) {
  e = e && typeof e === "object" ? e : {};
  const retry = typeof e.retry_after_ms === "number" ? e.retry_after_ms : null;
  return new ChgenError(String(e.code), String(e.message), e.details || [], stream, id, null, retry);
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
    }
    catch (e) {
      console.error(e);
    }
  }
}

// Bundlers replace process.env.NODE_ENV; in a browser without one, `process` is undefined.
function development() {
  try {
    return process.env.NODE_ENV !== "production";
  }
  catch {
    return false;
  }
}

/** The error for `data` that `check` refuses (with `code`), or undefined if it fits. */
function inspect(check, data, code, stream, id = null) {
  const errors = [];
  check?.(data, "$.data", errors);
  return errors.length ? new ChgenError(code, `invalid ${check.payload} payload`, errors, stream, id) : undefined;
}

// An outgoing message's data as the server will read it: what JSON.stringify makes of it. Data
// that is no object is left to the server, which answers `bad_frame`.
function outgoing(check, data, stream) {
  const sent = data === undefined ? {} : JSON.parse(JSON.stringify(data));
  return sent && typeof sent == "object" && !Array.isArray(sent) ? inspect(check, sent, "invalid", stream) : undefined;
}

/**
 * One WebSocket, reconnected with backoff after unexpected closes. Frames sent while it is not
 * open wait in a queue and go out, in order, once it opens. Answers that come too late (after
 * a timeout) are dropped. A listener that throws is reported with `console.error` and does not
 * keep the other listeners from running.
 */
export class Connection {
  /** Starts connecting at once. Throws if there is no WebSocket class to use. */
  constructor(url, options = {}) {
    const W = options.WebSocket || globalThis.WebSocket;
    if (!W) {
      throw new Error("chgen: no WebSocket class; pass one as options.WebSocket (in Node: `import WebSocket from \"ws\"`, the ws package)");
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
    this.gapListeners = new Set();
    this.recoveryListeners = new Set();
    this.positions = {};
    this.ahead = {};
    this.replaying = new Set();
    this.recoveredNow = null;
    this.checking = options.checkIncoming ?? development();
    this.connect();
  }
  /** The current state; changes are reported to {@link Connection.onState} listeners. */
  get state() {
    return this.current;
  }
  /** Calls `listener` on every state change (not with the current state). Returns an unsubscribe function. */
  onState(listener) {
    return listen(this.stateListeners, listener);
  }
  /**
   * Calls `listener` with errors that answer no request and belong to no channel listening for
   * errors: unwrapped errors on a multiplexed socket (`bad_json`, `bad_frame`, `unknown_stream`),
   * unreadable frames (`bad_response`), connection attempts that failed with
   * `handshake_refused` or `auth_failed`, and channel errors when that channel has no
   * `onError` listener. Returns an unsubscribe function.
   */
  onError(listener) {
    return listen(this.errorListeners, listener);
  }
  /**
   * Calls `listener` with every gap report on this socket, whatever its stream, after the
   * channel's own `onGap` listeners: see {@link ChgenGap}. Returns an unsubscribe function.
   */
  onGap(listener) {
    return listen(this.gapListeners, listener);
  }
  /**
   * Calls `listener` with what became of the socket's missed events after each connect (the
   * whole socket's {@link ChgenRecovery}). Returns an unsubscribe function.
   */
  onRecovery(listener) {
    return listen(this.recoveryListeners, listener);
  }
  /**
   * Whether the current connection recovered every event missed while away; `null` until the
   * server said so (and without {@link ClientOptions.recover}).
   */
  get recovered() {
    return this.recoveredNow;
  }
  /**
   * The channel for `stream`, the same object for the same name. `null` is the socket itself
   * when it is not multiplexed (frames travel unwrapped).
   */
  channel(stream) {
    let channel = this.channels.get(stream);
    if (!channel) {
      this.channels.set(stream, (channel = new Channel(this, stream)));
      if (stream !== null)
        this.multiplexed = true;
    }
    return channel;
  }
  /**
   * Closes for good: no reconnect, timers cleared, pending and queued requests reject with
   * `closed`. The socket is closed with `code` (default 1000) and `reason`.
   */
  close(code = 1000, reason) {
    const ws = this.socket;
    this.end();
    if (ws)
      ws.close(code, reason);
  }
  /** @internal */
  _send(stream, frame, id) {
    const text = JSON.stringify(stream === null ? frame : { stream, payload: frame });
    // JSON.stringify writes a lone surrogate as an escape (\udxxx), which the server cannot read.
    if (/(?<!\\)(?:\\\\)*\\ud[89a-f]/.test(text))
      throw new ChgenError("invalid", "lone surrogate in a string", [], stream);
    if (this.current === "open")
      this.socket.send(text);
    else if (this.current === "closed")
      throw new ChgenError("closed", "connection closed", [], stream);
    else if (this.queue.length < (this.opts.queueLimit ?? 256))
      this.queue.push([text, id]);
    else
      throw new ChgenError("queue_full", "send queue full", [], stream);
  }
  /** @internal */
  _request(stream, type, data, timeout) {
    return new Promise((resolve, reject) => {
      const id = ++this.lastId;
      this._send(stream, { type, data, id }, id);
      const ms = timeout ?? this.opts.requestTimeout ?? 10000;
      const expire = () => this.fail(id, "timeout", this.queue.some((frame) => frame[1] === id)
        ? `${type} not sent in ${ms} ms: the socket did not open`
        : `no answer to ${type} in ${ms} ms`);
      const timer = ms > 0 && ms < Infinity ? setTimeout(expire, ms) : undefined;
      this.pending.set(id, { resolve, reject, timer, stream });
    });
  }
  // One connection attempt: with auth, once its token is there.
  connect() {
    const auth = this.opts.auth;
    if (!auth)
      return this.open();
    new Promise((resolve) => resolve(auth.token())).then((token) => {
      if (this.current === "closed")
        return;
      try {
        this.open(token);
      }
      catch (e) {
        this.refuse("auth_failed", `cannot connect with the token: ${e}`);
      }
    }, (e) => {
      if (this.current !== "closed")
        this.refuse("auth_failed", `auth.token() failed: ${e}`);
    });
  }
  open(token) {
    const { auth, protocols = [] } = this.opts;
    const offered = typeof protocols === "string" ? [protocols] : [...protocols];
    const headers = { ...this.opts.headers };
    let url = this.url;
    if (this.opts.recover ?? true)
      url += (url.includes("?") ? "&" : "?") + "recover=" + this.token();
    this.recoveredNow = null;
    if (auth && token !== undefined) {
      if (auth.in === "protocol")
        offered.push((auth.name ?? "") + token);
      else if (auth.in === "header")
        headers[auth.name ?? "Authorization"] = token;
      else
        url += (url.includes("?") ? "&" : "?") + encodeURIComponent(auth.name ?? "token") + "=" + encodeURIComponent(token);
    }
    const ws = (this.socket = new this.WS(url, offered, { headers }));
    // Only ws tells a refused handshake's status, through this event; whoever listens to it
    // must end the handshake itself.
    let status;
    ws.on?.("unexpected-response", (_request, response) => {
      status = response.statusCode;
      ws.close();
    });
    ws.onopen = () => {
      if (ws !== this.socket)
        return;
      this.attempt = 0;
      const queue = this.queue;
      this.queue = [];
      for (const frame of queue)
        ws.send(frame[0]);
      this.setState("open");
    };
    ws.onmessage = (ev) => {
      if (ws === this.socket)
        this.receive(ev.data);
    };
    ws.onclose = () => {
      if (ws !== this.socket)
        return;
      if (status === undefined)
        this.drop();
      else
        this.refuse("handshake_refused", `handshake refused with status ${status}`, status);
    };
    ws.onerror = () => { };
  }
  // The positions as the `recover` parameter carries them: "1." and the base64 of their JSON.
  // The streams they name get what they missed first, up to their recovery frame.
  token() {
    const json = JSON.stringify(this.positions);
    const token = "1." + btoa(String.fromCharCode(...new TextEncoder().encode(json)));
    const sent = json !== "{}" && token.length <= 4096;
    this.replaying = new Set(sent ? Object.keys(this.positions) : []);
    return sent ? encodeURIComponent(token) : "";
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
      if (error)
        pending.reject(error);
      else
        pending.resolve(data);
    }
  }
  fail(id, code, message, status = null) {
    const pending = this.pending.get(id);
    if (pending)
      this.settle(id, new ChgenError(code, message, [], pending.stream, id, status));
  }
  // An attempt that cannot succeed as it stands: requests waiting for it fail now, and the
  // connection retries as after any failed attempt (a later token or server may do).
  refuse(code, message, status = null) {
    for (const id of [...this.pending.keys()])
      this.fail(id, code, message, status);
    emit(this.errorListeners, new ChgenError(code, message, [], null, null, status));
    this.drop();
  }
  drop() {
    this.socket = null;
    const queued = new Set(this.queue.map((frame) => frame[1]));
    for (const id of [...this.pending.keys()])
      if (!queued.has(id))
        this.fail(id, "disconnected", "connection lost");
    const r = this.opts.reconnect;
    if (r === false || this.attempt >= (r?.maxAttempts ?? Infinity))
      return this.end();
    if (this.current === "open")
      this.setState("reconnecting");
    const delay = Math.min(r?.maxDelay ?? 10000, (r?.initialDelay ?? 250) * 2 ** this.attempt++);
    this.timer = setTimeout(() => {
      try {
        this.connect();
      }
      catch {
        this.drop();
      }
    }, (this.opts.random || Math.random)() * delay);
  }
  end() {
    if (this.current === "closed")
      return;
    this.socket = null;
    clearTimeout(this.timer);
    this.setState("closed");
    for (const id of [...this.pending.keys()])
      this.fail(id, "closed", "connection closed");
    this.queue = [];
  }
  receive(raw) {
    let m;
    let stream = null;
    let channel = this.channels.get(null);
    try {
      m = JSON.parse(raw);
    }
    catch { }
    if (this.multiplexed && m && typeof m === "object") {
      if ("stream" in m) {
        channel = this.channels.get((stream = m.stream));
        if (!channel)
          return;
        m = m.payload;
      }
      else if (m.type === "error")
        channel = undefined;
    }
    if (!m || typeof m !== "object" || typeof m.type !== "string") {
      return emit(this.errorListeners, new ChgenError("bad_response", "unreadable frame from server", [], stream));
    }
    const id = m.id;
    if (m.type === "gap")
      return this.gapped(channel, stream, m.gap);
    if (m.type === "recovery")
      return this.recovering(channel, stream, m.recovery);
    if (Array.isArray(m.pos) && !this.fresh(stream ?? "", m.pos))
      return;
    if (m.type === "error") {
      const error = serverError(m.error, stream, id ?? null);
      if (id != null)
        this.settle(id, error);
      else
        emit(channel && channel._errors.size ? channel._errors : this.errorListeners, error);
    }
    else if (id != null)
      this.settle(id, this.checked(channel, m.type, m.data, id), m.data);
    else if (channel) {
      const bad = this.checked(channel, m.type, m.data);
      if (bad)
        return emit(channel._errors.size ? channel._errors : this.errorListeners, bad);
      const handlers = channel._handlers.get(m.type);
      if (handlers)
        emit(handlers, m.data);
      emit(channel._any, { type: m.type, data: m.data });
    }
  }
  // Whether an event at `pos` ([group, epoch, offset]) is new rather than a replayed copy of
  // one already delivered; moves the group's position. A position is the last offset of an
  // unbroken run, the one the token presents: two server processes may send a group's events
  // a few ms out of order, and one that came ahead of a lower one waits beside the run (at
  // most 64), so that a drop before the lower one arrives replays it (docs/recovery.md).
  fresh(stream, [group, epoch, offset]) {
    var _a;
    const groups = ((_a = this.positions)[stream] ?? (_a[stream] = {}));
    const key = stream + "\n" + group;
    const old = groups[group];
    let run = offset;
    if (old && old[0] === epoch) {
      const ahead = this.ahead[key];
      // At or below the run: in a replay, a copy of one seen ahead; else one held while the
      // server told the socket where it is (docs/protocol.md, "The recovery frames").
      if ((run = old[1]) >= offset)
        return !this.replaying.has(stream);
      if (ahead.has(offset))
        return false;
      ahead.add(offset);
      if (ahead.size > 64)
        run = Math.min(...ahead) - 1; // a hole that old is no reordering
      while (ahead.delete(run + 1))
        run++;
    }
    else
      this.ahead[key] = new Set();
    groups[group] = [epoch, run];
    return true;
  }
  // A gap report, to the channel's listeners, then the connection's.
  gapped(channel, stream, g) {
    const lost = g && typeof g.lost === "number" ? g.lost : null;
    const gap = { stream, lost, reason: String(g && g.reason) };
    if (channel)
      emit(channel._gaps, gap);
    emit(this.gapListeners, gap);
  }
  // A recovery frame: the stream's new positions, then its listeners; the socket's outcome.
  recovering(channel, stream, r) {
    const groups = r?.groups;
    const recovery = { stream, recovered: !!r?.recovered, groups };
    if (groups && typeof groups === "object") {
      const key = stream ?? "";
      this.replaying.delete(key);
      const old = this.positions[key] ?? {};
      const now = (this.positions[key] = {});
      for (const [group, g] of Object.entries(groups)) {
        if (g && typeof g.epoch === "string") {
          // Every event up to the new position was replayed or is behind: none is missing.
          now[group] = [g.epoch, g.offset];
          this.ahead[key + "\n" + group] = new Set();
        }
        else if (old[group])
          now[group] = old[group];
      }
      if (channel)
        emit(channel._recoveries, recovery);
    }
    if (stream === null) {
      this.recoveredNow = recovery.recovered;
      emit(this.recoveryListeners, recovery);
    }
  }
  // With checkIncoming: the error for a reply (with its request's id) or event that does not fit.
  checked(channel, type, data, id) {
    return this.checking ? channel?._check?.(type, data, id) : undefined;
  }
}

/** One stream of a multiplexed socket, or the whole socket when it is not multiplexed. Get it from {@link Connection.channel}. */
export class Channel {
  /** Use {@link Connection.channel} instead. */
  constructor(connection, stream) {
    this.conn = connection;
    this.stream = stream;
    this._handlers = new Map();
    this._any = new Set();
    this._errors = new Set();
    this._gaps = new Set();
    this._recoveries = new Set();
  }
  /**
   * Sends a message that asks for no answer. Queued while the socket is not open; throws a
   * ChgenError `queue_full` when the queue is full, `closed` when the connection is closed.
   */
  send(type, data) {
    this.conn._send(this.stream, { type, data });
  }
  /**
   * Sends a message with a fresh id and resolves with the reply's data. Rejects with a
   * ChgenError: the server's error, or `timeout`, `disconnected`, `closed`, `queue_full`,
   * `handshake_refused`, `auth_failed`.
   */
  request(type, data, options) {
    return this.conn._request(this.stream, type, data, options?.timeout);
  }
  /** Calls `handler` with the data of every `event` on this channel. Returns an unsubscribe function. */
  on(event, handler) {
    let handlers = this._handlers.get(event);
    if (!handlers)
      this._handlers.set(event, (handlers = new Set()));
    return listen(handlers, handler);
  }
  /** Calls `handler` with every event on this channel, after the `on` handlers. Returns an unsubscribe function. */
  onAny(handler) {
    return listen(this._any, handler);
  }
  /**
   * Calls `handler` with this channel's errors that answer no pending request (replaces the
   * fallback to {@link Connection.onError}). Returns an unsubscribe function.
   */
  onError(handler) {
    return listen(this._errors, handler);
  }
  /**
   * Calls `handler` when group events meant for this channel never reached it (see
   * {@link ChgenGap}); resynchronise what they would have changed. Returns an unsubscribe function.
   */
  onGap(handler) {
    return listen(this._gaps, handler);
  }
  /**
   * Calls `handler` after each connect with what became of this channel's missed events (see
   * {@link ChgenRecovery}), once they are replayed. Returns an unsubscribe function.
   */
  onRecovery(handler) {
    return listen(this._recoveries, handler);
  }
}

// An object with one function per name, made by `make` from the name and its index.
function table(names, make) {
  return Object.fromEntries(names.map((name, i) => [name, make(name, i)]));
}

/**
 * One consumer's typed API over a {@link Channel} (a stream, or a whole unmultiplexed socket).
 * A generated class such as `ChatStream` extends it with the consumer's types: `TSend`,
 * `TRequest` and `TOn` have one function per message or event type, `TEvent` is the union
 * of its events.
 */
export class ChgenStream {
  /**
   * `messages` and `events` are the consumer's message and event types. `checks` has, for each
   * message type, the check of its payload and of its reply; `eventChecks` that of each event.
   * A message that does not fit is refused before it is sent: `send` throws and `request`
   * rejects with the `invalid` ChgenError the server would answer.
   */
  constructor(channel, messages, events, checks = [], eventChecks = []) {
    this.channel = channel;
    const stream = channel.stream;
    this.send = table(messages, (type, i) => (data) => {
      const refused = outgoing(checks[i]?.[0], data, stream);
      if (refused)
        throw refused;
      channel.send(type, data);
    });
    this.request = table(messages, (type, i) => (data, options) => {
      const refused = outgoing(checks[i]?.[0], data, stream);
      return refused ? Promise.reject(refused) : channel.request(type, data, options);
    });
    this.on = table(events, (type) => (handler) => channel.on(type, handler));
    channel._check = (type, data, id) => id === undefined
      ? inspect(eventChecks[events.indexOf(type)], data, "bad_response", stream)
      : inspect(checks[messages.indexOf(type)]?.[1], data, "bad_response", stream, id);
  }
  /** Calls `handler` with every event, after the `on` handlers. Returns an unsubscribe function. */
  onAny(handler) {
    return this.channel.onAny(handler);
  }
  /** Errors on this channel that answer no pending request. */
  onError(handler) {
    return this.channel.onError(handler);
  }
  /** Group events of this stream that never reached the socket; see {@link ChgenGap}. */
  onGap(handler) {
    return this.channel.onGap(handler);
  }
  /** What became of this stream's missed events after each connect; see {@link ChgenRecovery}. */
  onRecovery(handler) {
    return this.channel.onRecovery(handler);
  }
}

/**
 * The class of a socket served by one consumer alone (`ChatSocket`): the typed API of
 * `streamClass` over the whole, unmultiplexed socket, with its {@link Connection} and `close`.
 */
export function socketOf(streamClass) {
  return class extends streamClass {
    constructor(url, options) {
      const connection = new Connection(url, options);
      super(connection.channel(null));
      this.connection = connection;
    }
    close(code, reason) {
      this.connection.close(code, reason);
    }
  };
}

/**
 * A socket to a demultiplexer (`LobbyClient`): one {@link Connection}, with a typed stream
 * per stream name as a property of the same name.
 */
export class ChgenClient {
  /** `streams` maps each stream name to its generated stream class. Starts connecting at once. */
  constructor(url, options, streams) {
    this.connection = new Connection(url, options);
    for (const [name, streamClass] of Object.entries(streams)) {
      this[name] = new streamClass(this.connection.channel(name));
    }
  }
  /** Closes the socket for good; see {@link Connection.close}. */
  close(code, reason) {
    this.connection.close(code, reason);
  }
}
