// chgen client core (wire protocol v1): the declarations of core.js.
// Compiled from core.ts by tsc: DO NOT EDIT. Edit core.ts, then run scripts/build-client-core.

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
export type WebSocketConstructor = new (url: string, protocols?: string[], options?: {
  headers: Record<string, string>;
}) => WebSocketLike;

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
export declare class ChgenError extends Error {
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
  constructor(code: string, message: string, details?: readonly ErrorDetail[], stream?: string | null, id?: string | number | null, status?: number | null, retryAfter?: number | null);
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

/**
 * One WebSocket, reconnected with backoff after unexpected closes. Frames sent while it is not
 * open wait in a queue and go out, in order, once it opens. Answers that come too late (after
 * a timeout) are dropped. A listener that throws is reported with `console.error` and does not
 * keep the other listeners from running.
 */
export declare class Connection {
  /** The URL the socket connects to (without the {@link AuthOptions} token). */
  readonly url: string;
  private opts;
  private WS;
  private socket;
  private current;
  private attempt;
  private timer;
  private lastId;
  private pending;
  private queue;
  private channels;
  private multiplexed;
  private stateListeners;
  private errorListeners;
  private gapListeners;
  private recoveryListeners;
  private checking;
  private positions;
  private replaying;
  private ahead;
  private recoveredNow;
  /** Starts connecting at once. Throws if there is no WebSocket class to use. */
  constructor(url: string, options?: ClientOptions);
  /** The current state; changes are reported to {@link Connection.onState} listeners. */
  get state(): ConnectionState;
  /** Calls `listener` on every state change (not with the current state). Returns an unsubscribe function. */
  onState(listener: (state: ConnectionState) => void): () => void;
  /**
   * Calls `listener` with errors that answer no request and belong to no channel listening for
   * errors: unwrapped errors on a multiplexed socket (`bad_json`, `bad_frame`, `unknown_stream`),
   * unreadable frames (`bad_response`), connection attempts that failed with
   * `handshake_refused` or `auth_failed`, and channel errors when that channel has no
   * `onError` listener. Returns an unsubscribe function.
   */
  onError(listener: (error: ChgenError) => void): () => void;
  /**
   * Calls `listener` with every gap report on this socket, whatever its stream, after the
   * channel's own `onGap` listeners: see {@link ChgenGap}. Returns an unsubscribe function.
   */
  onGap(listener: (gap: ChgenGap) => void): () => void;
  /**
   * Calls `listener` with what became of the socket's missed events after each connect (the
   * whole socket's {@link ChgenRecovery}). Returns an unsubscribe function.
   */
  onRecovery(listener: (recovery: ChgenRecovery) => void): () => void;
  /**
   * Whether the current connection recovered every event missed while away; `null` until the
   * server said so (and without {@link ClientOptions.recover}).
   */
  get recovered(): boolean | null;
  /**
   * The channel for `stream`, the same object for the same name. `null` is the socket itself
   * when it is not multiplexed (frames travel unwrapped).
   */
  channel(stream: string | null): Channel;
  /**
   * Closes for good: no reconnect, timers cleared, pending and queued requests reject with
   * `closed`. The socket is closed with `code` (default 1000) and `reason`.
   */
  close(code?: number, reason?: string): void;
  private connect;
  private open;
  private token;
  private setState;
  private settle;
  private fail;
  private refuse;
  private drop;
  private end;
  private receive;
  private fresh;
  private gapped;
  private recovering;
  private checked;
}

/** One stream of a multiplexed socket, or the whole socket when it is not multiplexed. Get it from {@link Connection.channel}. */
export declare class Channel {
  /** The stream name; `null` for an unmultiplexed socket. */
  readonly stream: string | null;
  private conn;
  /** Use {@link Connection.channel} instead. */
  constructor(connection: Connection, stream: string | null);
  /**
   * Sends a message that asks for no answer. Queued while the socket is not open; throws a
   * ChgenError `queue_full` when the queue is full, `closed` when the connection is closed.
   */
  send(type: string, data: unknown): void;
  /**
   * Sends a message with a fresh id and resolves with the reply's data. Rejects with a
   * ChgenError: the server's error, or `timeout`, `disconnected`, `closed`, `queue_full`,
   * `handshake_refused`, `auth_failed`.
   */
  request(type: string, data: unknown, options?: RequestOptions): Promise<unknown>;
  /** Calls `handler` with the data of every `event` on this channel. Returns an unsubscribe function. */
  on(event: string, handler: (data: unknown) => void): () => void;
  /** Calls `handler` with every event on this channel, after the `on` handlers. Returns an unsubscribe function. */
  onAny(handler: (event: {
    type: string;
    data: unknown;
  }) => void): () => void;
  /**
   * Calls `handler` with this channel's errors that answer no pending request (replaces the
   * fallback to {@link Connection.onError}). Returns an unsubscribe function.
   */
  onError(handler: (error: ChgenError) => void): () => void;
  /**
   * Calls `handler` when group events meant for this channel never reached it (see
   * {@link ChgenGap}); resynchronise what they would have changed. Returns an unsubscribe function.
   */
  onGap(handler: (gap: ChgenGap) => void): () => void;
  /**
   * Calls `handler` after each connect with what became of this channel's missed events (see
   * {@link ChgenRecovery}), once they are replayed. Returns an unsubscribe function.
   */
  onRecovery(handler: (recovery: ChgenRecovery) => void): () => void;
}

/**
 * One consumer's typed API over a {@link Channel} (a stream, or a whole unmultiplexed socket).
 * A generated class such as `ChatStream` extends it with the consumer's types: `TSend`,
 * `TRequest` and `TOn` have one function per message or event type, `TEvent` is the union
 * of its events.
 */
export declare class ChgenStream<TSend, TRequest, TOn, TEvent> {
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
  constructor(channel: Channel, messages: readonly string[], events: readonly string[], checks?: readonly (readonly (Check | undefined)[])[], eventChecks?: readonly (Check | undefined)[]);
  /** Calls `handler` with every event, after the `on` handlers. Returns an unsubscribe function. */
  onAny(handler: (event: TEvent) => void): () => void;
  /** Errors on this channel that answer no pending request. */
  onError(handler: (error: ChgenError) => void): () => void;
  /** Group events of this stream that never reached the socket; see {@link ChgenGap}. */
  onGap(handler: (gap: ChgenGap) => void): () => void;
  /** What became of this stream's missed events after each connect; see {@link ChgenRecovery}. */
  onRecovery(handler: (recovery: ChgenRecovery) => void): () => void;
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
export declare function socketOf<TStream>(streamClass: new (channel: Channel) => TStream): new (url: string, options?: ClientOptions) => TStream & ChgenSocket;

/**
 * A socket to a demultiplexer (`LobbyClient`): one {@link Connection}, with a typed stream
 * per stream name as a property of the same name.
 */
export declare class ChgenClient {
  readonly connection: Connection;
  /** `streams` maps each stream name to its generated stream class. Starts connecting at once. */
  constructor(url: string, options: ClientOptions | undefined, streams: Readonly<Record<string, new (channel: Channel) => unknown>>);
  /** Closes the socket for good; see {@link Connection.close}. */
  close(code?: number, reason?: string): void;
}
