// chgen client core (wire protocol v1): one Connection per socket, one Channel per stream, and
// the generic classes that the generated stream, socket and client classes extend.

/**
 * The part of the WebSocket API the client uses. The handlers take `any` so that the browser's
 * `WebSocket` and the `ws` package's class, whose handlers take their own event types, both fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  /**
   * Node's `ws` package only (browsers have no such method): the client listens for its
   * `unexpected-response` event to learn the HTTP status of a refused handshake.
   */
  on?(event: string, listener: (...args: any[]) => void): unknown;
}

/**
 * A WebSocket class, e.g. the browser's `WebSocket` or the default export of the `ws` package.
 * The client passes the subprotocols to offer and, as a third argument, the handshake's extra
 * headers: `ws` sends them, browsers' `WebSocket` takes no third argument.
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string[],
  options?: { headers: Record<string, string> },
) => WebSocketLike;

/** Where a problem is in the frame the client sent, and what it is. */
export interface ErrorDetail {
  /** A JSONPath into the sent frame (inside the stream payload when multiplexed). */
  readonly path: string;
  readonly message: string;
}

/**
 * A check of one payload against the spec, generated into each client: adds each problem with
 * `value`, located from `path` (`$.data`), to `errors`. `payload` is the payload's name.
 */
export interface Check {
  (value: unknown, path: string, errors: ErrorDetail[]): void;
  readonly payload: string;
}

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
  /** The error code, see above. */
  readonly code: string;
  /** Where the problem is, when the server could locate it. */
  readonly details: readonly ErrorDetail[];
  /** The stream the error belongs to; `null` on a plain socket or for connection-level errors. */
  readonly stream: string | null;
  /** The id of the request it answers, if any. */
  readonly id: string | number | null;
  /**
   * `handshake_refused`: the HTTP status the server answered with, where the platform exposes
   * it (Node's `ws` package; browsers do not). Otherwise `null`.
   */
  readonly status: number | null;
  /** `rate_limited`: milliseconds to wait before sending again. Otherwise `null`. */
  readonly retryAfter: number | null;

  constructor(
    code: string,
    message: string,
    details: readonly ErrorDetail[] = [],
    stream: string | null = null,
    id: string | number | null = null,
    status: number | null = null,
    retryAfter: number | null = null,
  ) {
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
function serverError(e: any, stream: string | null, id: string | number | null): ChgenError {
  e = e && typeof e === "object" ? e : {};
  const retry = typeof e.retry_after_ms === "number" ? e.retry_after_ms : null;
  return new ChgenError(String(e.code), String(e.message), e.details || [], stream, id, null, retry);
}

/**
 * Group events that never reached this socket: the server's channel layer lost some, or was
 * unavailable for a while (Redis restarting), or this client read too slowly and the server
 * dropped some. The events are gone; a client that must not miss any fetches the state again.
 */
export interface ChgenGap {
  /** The stream whose events were missed; `null` on an unmultiplexed socket. */
  readonly stream: string | null;
  /** How many were missed, when the server knows (after an outage it does not): else `null`. */
  readonly lost: number | null;
  /** `"lost"` (the channel layer lost them), `"outage"` (it was unavailable), `"slow"` (this client read too slowly). */
  readonly reason: "lost" | "outage" | "slow";
}

/** What became of one group's position when the socket (re)connected; see {@link ChgenRecovery}. */
export interface ChgenGroupRecovery {
  /** Whether every event the socket missed in this group was replayed. */
  readonly recovered: boolean;
  /** Why not: `"new"` (no position presented), `"epoch_changed"`, `"too_old"`, `"unavailable"`, `"history_off"`. */
  readonly reason?: string;
  /** How many events were replayed. */
  readonly replayed?: number;
}

/**
 * What became of the events a socket missed while it was away, told once per connection: per
 * stream with `groups` (the groups that keep history), and for the whole socket. Replayed
 * events have reached the `on` handlers before. Not `recovered`: resynchronise the state.
 */
export interface ChgenRecovery {
  /** The stream; `null` for the whole socket. */
  readonly stream: string | null;
  /** Whether nothing was missed: false on a first connect, and when any group could not recover. */
  readonly recovered: boolean;
  /** Each group with history of the stream, by name (absent for a multiplexed socket's summary). */
  readonly groups?: Readonly<Record<string, ChgenGroupRecovery>>;
}

/**
 * `connecting` until the socket first opens (retries of a first connection that fails stay
 * `connecting`), then `open`, `reconnecting` after an unexpected close, and finally `closed`.
 */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** Exponential backoff with full jitter: delay = random() * min(maxDelay, initialDelay * 2 ** attempt). */
export interface ReconnectOptions {
  /** Milliseconds; default 250. */
  initialDelay?: number;
  /** Milliseconds; default 10000. */
  maxDelay?: number;
  /** Failed attempts in a row before the connection gives up and closes; default Infinity. */
  maxAttempts?: number;
}

/**
 * A token fetched before every connection attempt, the first and each reconnect, so that a
 * refreshed token is used. Until it resolves the connection stays `connecting` or
 * `reconnecting`, and frames wait in the queue.
 */
export interface AuthOptions {
  /** Returns the token for one attempt. If it throws or rejects, the attempt fails with `auth_failed`. */
  token: () => string | Promise<string>;
  /**
   * Where the token goes (default `"query"`):
   * - `"query"`: the URL's query parameter `name` (default `token`), URI-encoded;
   * - `"protocol"`: one more subprotocol, `name + token` (`name` defaults to ""), offered after
   *   {@link ClientOptions.protocols}. The server must still select one of the offered subprotocols;
   * - `"header"`: the header `name` (default `Authorization`), with the token as its whole value
   *   (e.g. `Bearer …`). Only where {@link ClientOptions.headers} work: Node's `ws`, not browsers.
   */
  in?: "query" | "protocol" | "header";
  /** The query parameter, subprotocol prefix or header, see {@link AuthOptions.in}. */
  name?: string;
}

/** Options of a {@link Connection}; every one has a default. */
export interface ClientOptions {
  /** The WebSocket class; default `globalThis.WebSocket`. Node 20 has none: pass the `ws` package's. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect after an unexpected close (the default), or `false` to close for good. */
  reconnect?: ReconnectOptions | false;
  /** How many frames may wait for the socket to open; default 256. */
  queueLimit?: number;
  /** Milliseconds a request may wait for its answer, queued time included; default 10000. 0 or Infinity: no limit. */
  requestTimeout?: number;
  /** Source of jitter in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Subprotocols to offer in the handshake; if any are offered, the server must select one. */
  protocols?: string | readonly string[];
  /**
   * Extra HTTP headers of the handshake. Node's `ws` package sends them; browsers cannot set
   * headers on a WebSocket and ignore them: use the query or a subprotocol there.
   */
  headers?: Readonly<Record<string, string>>;
  /** A token fetched before every connection attempt; see {@link AuthOptions}. */
  auth?: AuthOptions;
  /**
   * Check events and replies against the spec before handlers see them: data that does not fit
   * becomes a `bad_response` error (a rejected request, or an `onError` call). Default: on in
   * development builds (`process.env.NODE_ENV` is not "production"), off where no bundler or
   * Node sets it. Outgoing messages are always checked.
   */
  checkIncoming?: boolean;
  /**
   * Track the position of every event of a group with history and present them when
   * reconnecting, so that the server replays what was missed (docs/recovery.md); default true.
   */
  recover?: boolean;
}

/** Options of one {@link Channel.request}. */
export interface RequestOptions {
  /** Overrides {@link ClientOptions.requestTimeout} for this request. */
  timeout?: number;
}

function listen<T>(set: Set<T>, listener: T): () => void {
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

// A listener that throws is reported with console.error; the others still run.
function emit<T>(set: Set<(value: T) => void>, value: T): void {
  for (const listener of [...set]) {
    try {
      listener(value);
    } catch (e) {
      console.error(e);
    }
  }
}

// ---- checks of payloads against the spec -----------------------------------------------

declare const process: { env: { NODE_ENV?: string } };

// Bundlers replace process.env.NODE_ENV; in a browser without one, `process` is undefined.
function development(): boolean {
  try {
    return process.env.NODE_ENV !== "production";
  } catch {
    return false;
  }
}

/** The error for `data` that `check` refuses (with `code`), or undefined if it fits. */
function inspect(check: Check | undefined, data: unknown, code: string, stream: string | null, id: string | number | null = null): ChgenError | undefined {
  const errors: ErrorDetail[] = [];
  check?.(data, "$.data", errors);
  return errors.length ? new ChgenError(code, `invalid ${check!.payload} payload`, errors, stream, id) : undefined;
}

// An outgoing message's data as the server will read it: what JSON.stringify makes of it. Data
// that is no object is left to the server, which answers `bad_frame`.
function outgoing(check: Check | undefined, data: unknown, stream: string | null): ChgenError | undefined {
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
  /** The URL the socket connects to (without the {@link AuthOptions} token). */
  readonly url: string;
  private opts: ClientOptions;
  private WS: WebSocketConstructor;
  private socket: WebSocketLike | null;
  private current: ConnectionState;
  private attempt: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastId: number;
  private pending: Map<
    unknown,
    {
      resolve: (data: unknown) => void;
      reject: (error: ChgenError) => void;
      timer: ReturnType<typeof setTimeout> | undefined;
      stream: string | null;
    }
  >;
  private queue: [string, number | undefined][];
  private channels: Map<string | null, Channel>;
  private multiplexed: boolean;
  private stateListeners: Set<(state: ConnectionState) => void>;
  private errorListeners: Set<(error: ChgenError) => void>;
  private gapListeners: Set<(gap: ChgenGap) => void>;
  private recoveryListeners: Set<(recovery: ChgenRecovery) => void>;
  private checking: boolean;
  // stream ("" unmultiplexed) -> group -> [epoch, offset]: the last event of an unbroken run
  private positions: Record<string, Record<string, [string, number]>>;
  // the streams getting what they missed, up to their recovery frame
  private replaying: Set<string>;
  // stream + "\n" + group -> the offsets seen beyond that run, while a lower one is missing
  // (there is a set for every position)
  private ahead: Record<string, Set<number>>;
  private recoveredNow: boolean | null;

  /** Starts connecting at once. Throws if there is no WebSocket class to use. */
  constructor(url: string, options: ClientOptions = {}) {
    const W = options.WebSocket || (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
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
  get state(): ConnectionState {
    return this.current;
  }

  /** Calls `listener` on every state change (not with the current state). Returns an unsubscribe function. */
  onState(listener: (state: ConnectionState) => void): () => void {
    return listen(this.stateListeners, listener);
  }

  /**
   * Calls `listener` with errors that answer no request and belong to no channel listening for
   * errors: unwrapped errors on a multiplexed socket (`bad_json`, `bad_frame`, `unknown_stream`),
   * unreadable frames (`bad_response`), connection attempts that failed with
   * `handshake_refused` or `auth_failed`, and channel errors when that channel has no
   * `onError` listener. Returns an unsubscribe function.
   */
  onError(listener: (error: ChgenError) => void): () => void {
    return listen(this.errorListeners, listener);
  }

  /**
   * Calls `listener` with every gap report on this socket, whatever its stream, after the
   * channel's own `onGap` listeners: see {@link ChgenGap}. Returns an unsubscribe function.
   */
  onGap(listener: (gap: ChgenGap) => void): () => void {
    return listen(this.gapListeners, listener);
  }

  /**
   * Calls `listener` with what became of the socket's missed events after each connect (the
   * whole socket's {@link ChgenRecovery}). Returns an unsubscribe function.
   */
  onRecovery(listener: (recovery: ChgenRecovery) => void): () => void {
    return listen(this.recoveryListeners, listener);
  }

  /**
   * Whether the current connection recovered every event missed while away; `null` until the
   * server said so (and without {@link ClientOptions.recover}).
   */
  get recovered(): boolean | null {
    return this.recoveredNow;
  }

  /**
   * The channel for `stream`, the same object for the same name. `null` is the socket itself
   * when it is not multiplexed (frames travel unwrapped).
   */
  channel(stream: string | null): Channel {
    let channel = this.channels.get(stream);
    if (!channel) {
      this.channels.set(stream, (channel = new Channel(this, stream)));
      if (stream !== null) this.multiplexed = true;
    }
    return channel;
  }

  /**
   * Closes for good: no reconnect, timers cleared, pending and queued requests reject with
   * `closed`. The socket is closed with `code` (default 1000) and `reason`.
   */
  close(code = 1000, reason?: string): void {
    const ws = this.socket;
    this.end();
    if (ws) ws.close(code, reason);
  }

  /** @internal */
  _send(stream: string | null, frame: object, id?: number): void {
    const text = JSON.stringify(stream === null ? frame : { stream, payload: frame });
    // JSON.stringify writes a lone surrogate as an escape (\udxxx), which the server cannot read.
    if (/(?<!\\)(?:\\\\)*\\ud[89a-f]/.test(text)) throw new ChgenError("invalid", "lone surrogate in a string", [], stream);
    if (this.current === "open") this.socket!.send(text);
    else if (this.current === "closed") throw new ChgenError("closed", "connection closed", [], stream);
    else if (this.queue.length < (this.opts.queueLimit ?? 256)) this.queue.push([text, id]);
    else throw new ChgenError("queue_full", "send queue full", [], stream);
  }

  /** @internal */
  _request(stream: string | null, type: string, data: unknown, timeout?: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = ++this.lastId;
      this._send(stream, { type, data, id }, id);
      const ms = timeout ?? this.opts.requestTimeout ?? 10000;
      const expire = () =>
        this.fail(
          id,
          "timeout",
          this.queue.some((frame) => frame[1] === id)
            ? `${type} not sent in ${ms} ms: the socket did not open`
            : `no answer to ${type} in ${ms} ms`,
        );
      const timer = ms > 0 && ms < Infinity ? setTimeout(expire, ms) : undefined;
      this.pending.set(id, { resolve, reject, timer, stream });
    });
  }

  // One connection attempt: with auth, once its token is there.
  private connect(): void {
    const auth = this.opts.auth;
    if (!auth) return this.open();
    new Promise<string>((resolve) => resolve(auth.token())).then(
      (token) => {
        if (this.current === "closed") return;
        try {
          this.open(token);
        } catch (e) {
          this.refuse("auth_failed", `cannot connect with the token: ${e}`);
        }
      },
      (e) => {
        if (this.current !== "closed") this.refuse("auth_failed", `auth.token() failed: ${e}`);
      },
    );
  }

  private open(token?: string): void {
    const { auth, protocols = [] } = this.opts;
    const offered = typeof protocols === "string" ? [protocols] : [...protocols];
    const headers = { ...this.opts.headers };
    let url = this.url;
    if (this.opts.recover ?? true) url += (url.includes("?") ? "&" : "?") + "recover=" + this.token();
    this.recoveredNow = null;
    if (auth && token !== undefined) {
      if (auth.in === "protocol") offered.push((auth.name ?? "") + token);
      else if (auth.in === "header") headers[auth.name ?? "Authorization"] = token;
      else url += (url.includes("?") ? "&" : "?") + encodeURIComponent(auth.name ?? "token") + "=" + encodeURIComponent(token);
    }
    const ws = (this.socket = new this.WS(url, offered, { headers }));
    // Only ws tells a refused handshake's status, through this event; whoever listens to it
    // must end the handshake itself.
    let status: number | undefined;
    ws.on?.("unexpected-response", (_request: unknown, response: { statusCode: number }) => {
      status = response.statusCode;
      ws.close();
    });
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
      if (ws !== this.socket) return;
      if (status === undefined) this.drop();
      else this.refuse("handshake_refused", `handshake refused with status ${status}`, status);
    };
    ws.onerror = () => {};
  }

  // The positions as the `recover` parameter carries them: "1." and the base64 of their JSON.
  // The streams they name get what they missed first, up to their recovery frame.
  private token(): string {
    const json = JSON.stringify(this.positions);
    const token = "1." + btoa(String.fromCharCode(...new TextEncoder().encode(json)));
    const sent = json !== "{}" && token.length <= 4096;
    this.replaying = new Set(sent ? Object.keys(this.positions) : []);
    return sent ? encodeURIComponent(token) : "";
  }

  private setState(state: ConnectionState): void {
    if (this.current !== state) {
      this.current = state;
      emit(this.stateListeners, state);
    }
  }

  private settle(id: unknown, error?: ChgenError, data?: unknown): void {
    const pending = this.pending.get(id);
    if (pending) {
      this.pending.delete(id);
      clearTimeout(pending.timer);
      this.queue = this.queue.filter((frame) => frame[1] !== id);
      if (error) pending.reject(error);
      else pending.resolve(data);
    }
  }

  private fail(id: unknown, code: string, message: string, status: number | null = null): void {
    const pending = this.pending.get(id);
    if (pending) this.settle(id, new ChgenError(code, message, [], pending.stream, id as number, status));
  }

  // An attempt that cannot succeed as it stands: requests waiting for it fail now, and the
  // connection retries as after any failed attempt (a later token or server may do).
  private refuse(code: string, message: string, status: number | null = null): void {
    for (const id of [...this.pending.keys()]) this.fail(id, code, message, status);
    emit(this.errorListeners, new ChgenError(code, message, [], null, null, status));
    this.drop();
  }

  private drop(): void {
    this.socket = null;
    const queued = new Set(this.queue.map((frame) => frame[1]));
    for (const id of [...this.pending.keys()]) if (!queued.has(id as number)) this.fail(id, "disconnected", "connection lost");
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

  private end(): void {
    if (this.current === "closed") return;
    this.socket = null;
    clearTimeout(this.timer);
    this.setState("closed");
    for (const id of [...this.pending.keys()]) this.fail(id, "closed", "connection closed");
    this.queue = [];
  }

  private receive(raw: unknown): void {
    let m: any;
    let stream: string | null = null;
    let channel = this.channels.get(null);
    try {
      m = JSON.parse(raw as string);
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
    if (m.type === "gap") return this.gapped(channel, stream, m.gap);
    if (m.type === "recovery") return this.recovering(channel, stream, m.recovery);
    if (Array.isArray(m.pos) && !this.fresh(stream ?? "", m.pos)) return;
    if (m.type === "error") {
      const error = serverError(m.error, stream, id ?? null);
      if (id != null) this.settle(id, error);
      else emit(channel && channel._errors.size ? channel._errors : this.errorListeners, error);
    } else if (id != null) this.settle(id, this.checked(channel, m.type, m.data, id), m.data);
    else if (channel) {
      const bad = this.checked(channel, m.type, m.data);
      if (bad) return emit(channel._errors.size ? channel._errors : this.errorListeners, bad);
      const handlers = channel._handlers.get(m.type);
      if (handlers) emit(handlers, m.data);
      emit(channel._any, { type: m.type, data: m.data });
    }
  }

  // Whether an event at `pos` ([group, epoch, offset]) is new rather than a replayed copy of
  // one already delivered; moves the group's position. A position is the last offset of an
  // unbroken run, the one the token presents: two server processes may send a group's events
  // a few ms out of order, and one that came ahead of a lower one waits beside the run (at
  // most 64), so that a drop before the lower one arrives replays it (docs/recovery.md).
  private fresh(stream: string, [group, epoch, offset]: any[]): boolean {
    const groups = (this.positions[stream] ??= {});
    const key = stream + "\n" + group;
    const old = groups[group];
    let run = offset;
    if (old && old[0] === epoch) {
      const ahead = this.ahead[key]!;
      // At or below the run: in a replay, a copy of one seen ahead; else one held while the
      // server told the socket where it is (docs/protocol.md, "The recovery frames").
      if ((run = old[1]) >= offset) return !this.replaying.has(stream);
      if (ahead.has(offset)) return false;
      ahead.add(offset);
      if (ahead.size > 64) run = Math.min(...ahead) - 1; // a hole that old is no reordering
      while (ahead.delete(run + 1)) run++;
    } else this.ahead[key] = new Set();
    groups[group] = [epoch, run];
    return true;
  }

  // A gap report, to the channel's listeners, then the connection's.
  private gapped(channel: Channel | undefined, stream: string | null, g: any): void {
    const lost = g && typeof g.lost === "number" ? g.lost : null;
    const gap: ChgenGap = { stream, lost, reason: String(g && g.reason) as ChgenGap["reason"] };
    if (channel) emit(channel._gaps, gap);
    emit(this.gapListeners, gap);
  }

  // A recovery frame: the stream's new positions, then its listeners; the socket's outcome.
  private recovering(channel: Channel | undefined, stream: string | null, r: any): void {
    const groups = r?.groups;
    const recovery: ChgenRecovery = { stream, recovered: !!r?.recovered, groups };
    if (groups && typeof groups === "object") {
      const key = stream ?? "";
      this.replaying.delete(key);
      const old = this.positions[key] ?? {};
      const now: Record<string, [string, number]> = (this.positions[key] = {});
      for (const [group, g] of Object.entries<any>(groups)) {
        if (g && typeof g.epoch === "string") {
          // Every event up to the new position was replayed or is behind: none is missing.
          now[group] = [g.epoch, g.offset];
          this.ahead[key + "\n" + group] = new Set();
        } else if (old[group]) now[group] = old[group];
      }
      if (channel) emit(channel._recoveries, recovery);
    }
    if (stream === null) {
      this.recoveredNow = recovery.recovered;
      emit(this.recoveryListeners, recovery);
    }
  }

  // With checkIncoming: the error for a reply (with its request's id) or event that does not fit.
  private checked(channel: Channel | undefined, type: string, data: unknown, id?: string | number): ChgenError | undefined {
    return this.checking ? channel?._check?.(type, data, id) : undefined;
  }
}

/** One stream of a multiplexed socket, or the whole socket when it is not multiplexed. Get it from {@link Connection.channel}. */
export class Channel {
  /** The stream name; `null` for an unmultiplexed socket. */
  readonly stream: string | null;
  private conn: Connection;
  /** @internal */
  _handlers: Map<string, Set<(data: unknown) => void>>;
  /** @internal */
  _any: Set<(event: { type: string; data: unknown }) => void>;
  /** @internal */
  _errors: Set<(error: ChgenError) => void>;
  /** @internal */
  _gaps: Set<(gap: ChgenGap) => void>;
  /** @internal */
  _recoveries: Set<(recovery: ChgenRecovery) => void>;
  /** @internal The error for incoming data of `type` that does not fit; `id` for a reply. */
  _check?: (type: string, data: unknown, id?: string | number) => ChgenError | undefined;

  /** Use {@link Connection.channel} instead. */
  constructor(connection: Connection, stream: string | null) {
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
  send(type: string, data: unknown): void {
    this.conn._send(this.stream, { type, data });
  }

  /**
   * Sends a message with a fresh id and resolves with the reply's data. Rejects with a
   * ChgenError: the server's error, or `timeout`, `disconnected`, `closed`, `queue_full`,
   * `handshake_refused`, `auth_failed`.
   */
  request(type: string, data: unknown, options?: RequestOptions): Promise<unknown> {
    return this.conn._request(this.stream, type, data, options?.timeout);
  }

  /** Calls `handler` with the data of every `event` on this channel. Returns an unsubscribe function. */
  on(event: string, handler: (data: unknown) => void): () => void {
    let handlers = this._handlers.get(event);
    if (!handlers) this._handlers.set(event, (handlers = new Set()));
    return listen(handlers, handler);
  }

  /** Calls `handler` with every event on this channel, after the `on` handlers. Returns an unsubscribe function. */
  onAny(handler: (event: { type: string; data: unknown }) => void): () => void {
    return listen(this._any, handler);
  }

  /**
   * Calls `handler` with this channel's errors that answer no pending request (replaces the
   * fallback to {@link Connection.onError}). Returns an unsubscribe function.
   */
  onError(handler: (error: ChgenError) => void): () => void {
    return listen(this._errors, handler);
  }

  /**
   * Calls `handler` when group events meant for this channel never reached it (see
   * {@link ChgenGap}); resynchronise what they would have changed. Returns an unsubscribe function.
   */
  onGap(handler: (gap: ChgenGap) => void): () => void {
    return listen(this._gaps, handler);
  }

  /**
   * Calls `handler` after each connect with what became of this channel's missed events (see
   * {@link ChgenRecovery}), once they are replayed. Returns an unsubscribe function.
   */
  onRecovery(handler: (recovery: ChgenRecovery) => void): () => void {
    return listen(this._recoveries, handler);
  }
}

// An object with one function per name, made by `make` from the name and its index.
function table<T>(names: readonly string[], make: (name: string, i: number) => unknown): T {
  return Object.fromEntries(names.map((name, i) => [name, make(name, i)])) as T;
}

/**
 * One consumer's typed API over a {@link Channel} (a stream, or a whole unmultiplexed socket).
 * A generated class such as `ChatStream` extends it with the consumer's types: `TSend`,
 * `TRequest` and `TOn` have one function per message or event type, `TEvent` is the union
 * of its events.
 */
export class ChgenStream<TSend, TRequest, TOn, TEvent> {
  /** The untyped channel underneath. */
  readonly channel: Channel;
  /** One function per message type: sends it without waiting for an answer. */
  readonly send: TSend;
  /** One function per message type: sends it as a request; the promise settles with the reply or an error. */
  readonly request: TRequest;
  /** One function per event type: subscribes a handler, and returns the function that stops it. */
  readonly on: TOn;

  /**
   * `messages` and `events` are the consumer's message and event types. `checks` has, for each
   * message type, the check of its payload and of its reply; `eventChecks` that of each event.
   * A message that does not fit is refused before it is sent: `send` throws and `request`
   * rejects with the `invalid` ChgenError the server would answer.
   */
  constructor(
    channel: Channel,
    messages: readonly string[],
    events: readonly string[],
    checks: readonly (readonly (Check | undefined)[])[] = [],
    eventChecks: readonly (Check | undefined)[] = [],
  ) {
    this.channel = channel;
    const stream = channel.stream;
    this.send = table(messages, (type, i) => (data: unknown) => {
      const refused = outgoing(checks[i]?.[0], data, stream);
      if (refused) throw refused;
      channel.send(type, data);
    });
    this.request = table(messages, (type, i) => (data: unknown, options?: RequestOptions) => {
      const refused = outgoing(checks[i]?.[0], data, stream);
      return refused ? Promise.reject(refused) : channel.request(type, data, options);
    });
    this.on = table(events, (type) => (handler: (data: unknown) => void) => channel.on(type, handler));
    channel._check = (type, data, id) =>
      id === undefined
        ? inspect(eventChecks[events.indexOf(type)], data, "bad_response", stream)
        : inspect(checks[messages.indexOf(type)]?.[1], data, "bad_response", stream, id);
  }

  /** Calls `handler` with every event, after the `on` handlers. Returns an unsubscribe function. */
  onAny(handler: (event: TEvent) => void): () => void {
    return this.channel.onAny(handler as (event: unknown) => void);
  }

  /** Errors on this channel that answer no pending request. */
  onError(handler: (error: ChgenError) => void): () => void {
    return this.channel.onError(handler);
  }

  /** Group events of this stream that never reached the socket; see {@link ChgenGap}. */
  onGap(handler: (gap: ChgenGap) => void): () => void {
    return this.channel.onGap(handler);
  }

  /** What became of this stream's missed events after each connect; see {@link ChgenRecovery}. */
  onRecovery(handler: (recovery: ChgenRecovery) => void): () => void {
    return this.channel.onRecovery(handler);
  }
}

/** What a socket served by one consumer alone has besides its stream's API. */
export interface ChgenSocket {
  /** The connection of the socket. */
  readonly connection: Connection;
  /** Closes the socket for good; see {@link Connection.close}. */
  close(code?: number, reason?: string): void;
}

/**
 * The class of a socket served by one consumer alone (`ChatSocket`): the typed API of
 * `streamClass` over the whole, unmultiplexed socket, with its {@link Connection} and `close`.
 */
export function socketOf<TStream>(
  streamClass: new (channel: Channel) => TStream,
): new (url: string, options?: ClientOptions) => TStream & ChgenSocket {
  return class extends (streamClass as new (channel: Channel) => object) {
    readonly connection: Connection;

    constructor(url: string, options?: ClientOptions) {
      const connection = new Connection(url, options);
      super(connection.channel(null));
      this.connection = connection;
    }

    close(code?: number, reason?: string): void {
      this.connection.close(code, reason);
    }
  } as new (url: string, options?: ClientOptions) => TStream & ChgenSocket;
}

/**
 * A socket to a demultiplexer (`LobbyClient`): one {@link Connection}, with a typed stream
 * per stream name as a property of the same name.
 */
export class ChgenClient {
  readonly connection: Connection;

  /** `streams` maps each stream name to its generated stream class. Starts connecting at once. */
  constructor(url: string, options: ClientOptions | undefined, streams: Readonly<Record<string, new (channel: Channel) => unknown>>) {
    this.connection = new Connection(url, options);
    for (const [name, streamClass] of Object.entries(streams)) {
      (this as unknown as Record<string, unknown>)[name] = new streamClass(this.connection.channel(name));
    }
  }

  /** Closes the socket for good; see {@link Connection.close}. */
  close(code?: number, reason?: string): void {
    this.connection.close(code, reason);
  }
}
