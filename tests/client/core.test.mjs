// Tests of the TypeScript client core (templates/client/core.ts, and core.js and core.d.ts,
// which scripts/build-client-core compiles from it; tests/test_client_core.py checks they are fresh).
//
// Every behaviour test runs twice: against the committed core.js, and against core.ts compiled
// by tsc now (once, in the root `before` hook, with tests/client/tsconfig.json). Static checks
// prove core.ts compiles under the strictest flags, core.js stays ES2020 and small, and a usage
// file type-checks through core.ts and through core.js + core.d.ts alike.
//
// Run: node --test tests/client/core.test.mjs (from anywhere; paths are relative to this file).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CORE = path.join(ROOT, "templates", "client");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
const TSCONFIG = path.join(ROOT, "tests", "client", "tsconfig.json");
const SIZE_BUDGET = 3 * 1024 + 384; // 3 KB, and 384 B for recovery (bench/client_size.py)

let tmp;
let compiled; // { ok, output } of tsc over core.ts

function tsc(args) {
  try {
    return { ok: true, output: execFileSync(process.execPath, [TSC, ...args], { cwd: ROOT, encoding: "utf8" }) };
  } catch (e) {
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}${e.stdout || e.stderr ? "" : e.message}` };
  }
}

before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), "chgen-core-"));
  compiled = tsc(["-p", TSCONFIG, "--outDir", path.join(tmp, "tsc")]);
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function esbuild() {
  return import(pathToFileURL(path.join(ROOT, "node_modules", "esbuild", "lib", "main.js")).href);
}

// ---------------------------------------------------------------------------------------
// Test doubles

/** A fresh fake WebSocket class; `sockets` lists its instances in creation order. */
function fakeWebSocket() {
  const sockets = [];
  class FakeSocket {
    constructor(url, protocols, options) {
      this.url = url;
      this.protocols = protocols;
      this.options = options;
      this.readyState = 0;
      this.sent = [];
      this.closedWith = null;
      this.onopen = this.onclose = this.onmessage = this.onerror = null;
      sockets.push(this);
    }
    send(text) {
      assert.equal(typeof text, "string", "frames are sent as JSON text");
      if (this.readyState !== 1) throw new Error("send() on a socket that is not open");
      this.sent.push(JSON.parse(text));
    }
    close(code, reason) {
      this.closedWith = [code, reason];
      this.readyState = 3;
    }
    // Driven by the tests:
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
    receive(frame) {
      this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
    }
    drop(code = 1006) {
      this.readyState = 3;
      this.onclose?.({ code, reason: "" });
    }
  }
  return { FakeSocket, sockets };
}

/** Like fakeWebSocket, with the `on` method of Node's ws, where a refused handshake shows its status. */
function fakeNodeWebSocket() {
  const { FakeSocket, sockets } = fakeWebSocket();
  class FakeNodeSocket extends FakeSocket {
    on(event, listener) {
      (this.listeners ??= {})[event] = listener;
    }
    // ws: an `unexpected-response` listener must end the handshake itself; close() does.
    refuse(statusCode) {
      this.listeners["unexpected-response"]({}, { statusCode });
      assert.deepEqual(this.closedWith, [undefined, undefined], "the client closes the refused socket");
      this.onerror?.({ message: "WebSocket was closed before the connection was established" });
      this.drop();
    }
  }
  return { FakeSocket: FakeNodeSocket, sockets };
}

/** A Connection on a fake socket, closed after the test; records states and connection errors. */
function setup(t, M, options = {}, fake = fakeWebSocket) {
  const { FakeSocket, sockets } = fake();
  const conn = new M.Connection("ws://test/ws/lobby/", { WebSocket: FakeSocket, ...options });
  t.after(() => conn.close());
  const states = [];
  conn.onState((state) => states.push(state));
  const errors = [];
  conn.onError((error) => errors.push(error));
  return {
    conn,
    sockets,
    states,
    errors,
    get ws() {
      return sockets[sockets.length - 1];
    },
  };
}

/** Lets every pending promise callback run (setImmediate is never mocked here). */
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Watches a promise without awaiting it. */
function track(promise) {
  const status = { state: "pending", value: undefined, error: undefined };
  promise.then(
    (value) => Object.assign(status, { state: "resolved", value }),
    (error) => Object.assign(status, { state: "rejected", error }),
  );
  return status;
}

function assertChgenError(M, error, expected) {
  assert.ok(error instanceof M.ChgenError, `expected a ChgenError, got ${error}`);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ChgenError");
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(error[key], value, `error.${key}`);
}

/** Real timers, wrapped to know which are still scheduled. */
function trackTimers(t) {
  const live = new Set();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  t.mock.method(globalThis, "setTimeout", (fn, ms, ...args) => {
    const handle = realSet(() => {
      live.delete(handle);
      fn(...args);
    }, ms);
    live.add(handle);
    return handle;
  });
  t.mock.method(globalThis, "clearTimeout", (handle) => {
    live.delete(handle);
    realClear(handle);
  });
  return live;
}

function fakeTimers(t) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  return t.mock.timers;
}

/** The positions a socket's URL presents in its `recover` token (docs/protocol.md, "Recovery"). */
function presented(socket) {
  const token = decodeURIComponent(new URL(socket.url).searchParams.get("recover") ?? "");
  assert.ok(token.startsWith("1."), `no positions in ${socket.url}`);
  return JSON.parse(Buffer.from(token.slice(2), "base64").toString("utf8"));
}

/** Asserts the next reconnect happens exactly `delay` ms from now (mocked timers). */
function assertReconnectAfter(timers, sockets, delay) {
  const count = sockets.length;
  timers.tick(delay - 1);
  assert.equal(sockets.length, count, `no reconnect before ${delay} ms`);
  timers.tick(1);
  assert.equal(sockets.length, count + 1, `a reconnect at ${delay} ms`);
}

// ---------------------------------------------------------------------------------------
// Behaviour, for both implementations

const VARIANTS = [
  ["core.js", () => path.join(CORE, "core.js")],
  ["core.ts compiled by tsc", () => path.join(tmp, "tsc", "core.js")],
];

for (const [variant, modulePath] of VARIANTS) {
  describe(variant, () => {
    let M;
    before(async () => {
      M = await import(pathToFileURL(modulePath()).href);
    });

    test("requests get replies by id across two channels", async (t) => {
      const { conn, ws, errors } = setup(t, M);
      ws.open();
      const chat = conn.channel("chat");
      const admin = conn.channel("admin");
      assert.equal(conn.channel("chat"), chat, "the same channel object for the same name");
      assert.equal(chat.stream, "chat");
      const post = track(chat.request("post", { text: "hi" }));
      const kick = track(admin.request("kick", { user: "bob" }));
      assert.deepEqual(ws.sent, [
        { stream: "chat", payload: { type: "post", data: { text: "hi" }, id: 1 } },
        { stream: "admin", payload: { type: "kick", data: { user: "bob" }, id: 2 } },
      ]);
      const seen = [];
      chat.onAny((event) => seen.push(event));
      admin.onAny((event) => seen.push(event));
      ws.receive({ stream: "chat", payload: { type: "post", id: 99, data: { id: 0 } } }); // nobody asked
      ws.receive({ stream: "admin", payload: { type: "kick", id: 2, data: null } });
      ws.receive({ stream: "chat", payload: { type: "post", id: 1, data: { id: 42 } } });
      await flush();
      assert.deepEqual(post, { state: "resolved", value: { id: 42 }, error: undefined });
      assert.deepEqual(kick, { state: "resolved", value: null, error: undefined });
      assert.deepEqual(seen, [], "replies are not events");
      assert.deepEqual(errors, []);
    });

    test("an error frame rejects its request with code, message, details, stream and id", async (t) => {
      const { conn, ws } = setup(t, M);
      ws.open();
      const chat = conn.channel("chat");
      const reply = chat.request("post", { text: 5 });
      const details = [{ path: "$.data.text", message: "expected a string, got an integer" }];
      ws.receive({
        stream: "chat",
        payload: { type: "error", id: 1, error: { code: "invalid", message: "invalid Post payload", details } },
      });
      await assert.rejects(reply, (error) => {
        assertChgenError(M, error, { code: "invalid", message: "invalid Post payload", details, stream: "chat", id: 1 });
        return true;
      });
      const other = chat.request("post", {});
      ws.receive({ stream: "chat", payload: { type: "error", id: 2, error: { code: "internal", message: "failed" } } });
      await assert.rejects(other, (error) => {
        assertChgenError(M, error, { code: "internal", message: "failed", details: [], stream: "chat", id: 2 });
        return true;
      });
    });

    test("ChgenError defaults", () => {
      const error = new M.ChgenError("timeout", "too slow");
      assertChgenError(M, error, { code: "timeout", message: "too slow", details: [], stream: null, id: null });
    });

    test("a request times out after requestTimeout, and a late reply is ignored", async (t) => {
      const timers = fakeTimers(t);
      const { conn, ws, errors } = setup(t, M);
      ws.open();
      const chat = conn.channel("chat");
      const events = [];
      chat.onAny((event) => events.push(event));
      const slow = track(chat.request("post", {}));
      timers.tick(9999);
      await flush();
      assert.equal(slow.state, "pending", "the default timeout is 10 s");
      timers.tick(1);
      await flush();
      assert.equal(slow.state, "rejected");
      assertChgenError(M, slow.error, { code: "timeout", stream: "chat", id: 1 });
      ws.receive({ stream: "chat", payload: { type: "post", id: 1, data: { id: 1 } } });
      ws.receive({ stream: "chat", payload: { type: "error", id: 1, error: { code: "internal", message: "late" } } });
      await flush();
      assert.deepEqual(events, []);
      assert.deepEqual(errors, []);
    });

    test("requestTimeout and the per-request timeout; 0 means no timeout", async (t) => {
      const timers = fakeTimers(t);
      const { conn, ws } = setup(t, M, { requestTimeout: 500 });
      ws.open();
      const chat = conn.channel("chat");
      const byOption = track(chat.request("a", {}));
      const byRequest = track(chat.request("b", {}, { timeout: 50 }));
      const never = track(chat.request("c", {}, { timeout: 0 }));
      timers.tick(50);
      await flush();
      assert.equal(byRequest.state, "rejected");
      assert.equal(byOption.state, "pending");
      timers.tick(450);
      await flush();
      assert.equal(byOption.state, "rejected");
      assertChgenError(M, byOption.error, { code: "timeout", id: 1 });
      timers.tick(1e9);
      await flush();
      assert.equal(never.state, "pending");
      ws.receive({ stream: "chat", payload: { type: "c", id: 3, data: "ok" } });
      await flush();
      assert.deepEqual(never, { state: "resolved", value: "ok", error: undefined });
    });

    test("events reach on() handlers, then onAny(), of their own channel; unsubscribe stops them", (t) => {
      const { conn, ws } = setup(t, M);
      ws.open();
      const chat = conn.channel("chat");
      const echo = conn.channel("echo");
      const log = [];
      const offPosted = chat.on("posted", (data) => log.push(["posted", data]));
      chat.on("posted", (data) => log.push(["posted again", data]));
      chat.on("other", (data) => log.push(["other", data]));
      const offAny = chat.onAny((event) => log.push(["any", event]));
      echo.on("posted", (data) => log.push(["echo", data]));
      ws.receive({ stream: "chat", payload: { type: "posted", data: { id: 1 } } });
      assert.deepEqual(log, [
        ["posted", { id: 1 }],
        ["posted again", { id: 1 }],
        ["any", { type: "posted", data: { id: 1 } }],
      ]);
      log.length = 0;
      offPosted();
      offPosted(); // twice is harmless
      ws.receive({ stream: "chat", payload: { type: "posted", data: { id: 2 } } });
      assert.deepEqual(log, [
        ["posted again", { id: 2 }],
        ["any", { type: "posted", data: { id: 2 } }],
      ]);
      log.length = 0;
      offAny();
      ws.receive({ stream: "chat", payload: { type: "unknown", data: {} } });
      ws.receive({ stream: "echo", payload: { type: "posted", data: { id: 3 } } });
      assert.deepEqual(log, [["echo", { id: 3 }]]);
    });

    test("errors that belong to no stream go to Connection.onError", async (t) => {
      const { conn, ws, errors } = setup(t, M);
      ws.open();
      const chat = conn.channel("chat");
      const channelErrors = [];
      chat.onError((error) => channelErrors.push(error));
      ws.receive({ type: "error", error: { code: "bad_json", message: "not JSON" } });
      ws.receive({
        type: "error",
        error: { code: "unknown_stream", message: "no stream nope", details: [{ path: "$.stream", message: "unknown" }] },
      });
      assert.deepEqual(
        errors.map((e) => [e.code, e.message, e.stream, e.id, e.details.length]),
        [
          ["bad_json", "not JSON", null, null, 0],
          ["unknown_stream", "no stream nope", null, null, 1],
        ],
      );
      assert.ok(errors.every((e) => e instanceof M.ChgenError));
      assert.deepEqual(channelErrors, []);
      // An unwrapped error that answers a pending request rejects it instead.
      const reply = track(chat.request("post", {}));
      ws.receive({ type: "error", id: 1, error: { code: "bad_frame", message: "bad envelope" } });
      await flush();
      assert.equal(reply.state, "rejected");
      assertChgenError(M, reply.error, { code: "bad_frame", stream: null, id: 1 });
      assert.equal(errors.length, 2);
    });

    test("stream errors without a pending id go to the channel's onError, else to Connection.onError", (t) => {
      const { conn, ws, errors } = setup(t, M);
      ws.open();
      const chat = conn.channel("chat");
      const echo = conn.channel("echo");
      const chatErrors = [];
      const off = chat.onError((error) => chatErrors.push(error));
      const frame = (stream) => ({
        stream,
        payload: { type: "error", error: { code: "invalid", message: "invalid Post payload" } },
      });
      ws.receive(frame("chat"));
      ws.receive(frame("echo"));
      assert.deepEqual(chatErrors.map((e) => [e.code, e.stream]), [["invalid", "chat"]]);
      assert.deepEqual(errors.map((e) => [e.code, e.stream]), [["invalid", "echo"]]);
      off();
      ws.receive(frame("chat"));
      assert.deepEqual(errors.map((e) => [e.code, e.stream]), [["invalid", "echo"], ["invalid", "chat"]]);
      assert.equal(echo.stream, "echo");
    });

    test("unreadable frames are reported as bad_response; unknown streams are ignored", (t) => {
      const { conn, ws, errors } = setup(t, M);
      ws.open();
      const chat = conn.channel("chat");
      const events = [];
      chat.onAny((event) => events.push(event));
      ws.receive("{not json");
      ws.receive("null");
      ws.receive({ stream: "chat", payload: "nope" });
      ws.receive({ stream: "chat", payload: { data: {} } });
      ws.receive({ stream: "nope", payload: { type: "posted", data: {} } });
      ws.receive({ stream: "nope", payload: { type: "error", error: { code: "invalid", message: "x" } } });
      assert.deepEqual(errors.map((e) => [e.code, e.stream]), [
        ["bad_response", null],
        ["bad_response", null],
        ["bad_response", "chat"],
        ["bad_response", "chat"],
      ]);
      assert.deepEqual(events, []);
    });

    test("frames sent before open are queued and flushed in order", async (t) => {
      const { conn, ws, states } = setup(t, M);
      assert.equal(conn.state, "connecting");
      assert.equal(conn.url, "ws://test/ws/lobby/");
      const chat = conn.channel("chat");
      chat.send("typing", { on: true });
      const reply = track(chat.request("post", { text: "hi" }));
      chat.send("typing", { on: false });
      conn.onState((state) => {
        if (state === "open") chat.send("hello", {});
      });
      assert.deepEqual(ws.sent, []);
      ws.open();
      assert.deepEqual(ws.sent, [
        { stream: "chat", payload: { type: "typing", data: { on: true } } },
        { stream: "chat", payload: { type: "post", data: { text: "hi" }, id: 1 } },
        { stream: "chat", payload: { type: "typing", data: { on: false } } },
        { stream: "chat", payload: { type: "hello", data: {} } },
      ]);
      chat.send("after", {});
      assert.deepEqual(ws.sent.at(-1), { stream: "chat", payload: { type: "after", data: {} } });
      ws.receive({ stream: "chat", payload: { type: "post", id: 1, data: { id: 7 } } });
      await flush();
      assert.deepEqual(reply.value, { id: 7 });
      assert.deepEqual(states, ["open"]);
    });

    test("a request that times out while queued is never sent", async (t) => {
      const timers = fakeTimers(t);
      const { conn, ws } = setup(t, M);
      const chat = conn.channel("chat");
      const reply = track(chat.request("post", {}, { timeout: 100 }));
      chat.send("typing", {});
      timers.tick(100);
      await flush();
      assert.equal(reply.state, "rejected");
      assertChgenError(M, reply.error, { code: "timeout", stream: "chat", id: 1 });
      ws.open();
      assert.deepEqual(ws.sent, [{ stream: "chat", payload: { type: "typing", data: {} } }]);
    });

    test("a full queue refuses frames with queue_full, never dropping them silently", async (t) => {
      const { conn, ws } = setup(t, M, { queueLimit: 2 });
      const chat = conn.channel("chat");
      chat.send("a", {});
      const queued = track(chat.request("b", {}));
      assert.throws(
        () => chat.send("c", {}),
        (error) => {
          assertChgenError(M, error, { code: "queue_full", stream: "chat", id: null });
          return true;
        },
      );
      await assert.rejects(chat.request("d", {}), (error) => {
        assertChgenError(M, error, { code: "queue_full", stream: "chat" });
        return true;
      });
      ws.open();
      assert.deepEqual(
        ws.sent.map((frame) => frame.payload.type),
        ["a", "b"],
      );
      chat.send("e", {}); // open: no queue
      assert.equal(ws.sent.length, 3);
      await flush();
      assert.equal(queued.state, "pending");
    });

    test("the default queue holds 256 frames", (t) => {
      const { conn } = setup(t, M);
      const chat = conn.channel("chat");
      for (let i = 0; i < 256; i++) chat.send("a", { i });
      assert.throws(() => chat.send("a", {}), { code: "queue_full" });
    });

    test("the token presents the last offset of an unbroken run; replayed copies of events seen ahead are dropped", async (t) => {
      const timers = fakeTimers(t);
      const { conn, sockets } = setup(t, M, { random: () => 0.5 });
      const got = [];
      conn.channel("chat").on("posted", (data) => got.push(data.n));
      const event = (n, epoch = "e1") => ({ stream: "chat", payload: { type: "posted", data: { n }, pos: ["room.a", epoch, n] } });
      sockets[0].open();
      // 3 overtook 2 (sent by another server process), and the socket drops before 2 comes.
      for (const n of [1, 3]) sockets[0].receive(event(n));
      sockets[0].drop();
      assertReconnectAfter(timers, sockets, 125);
      assert.deepEqual(presented(sockets[1]), { chat: { "room.a": ["e1", 1] } }, "2 is missing: present 1");
      sockets[1].open();
      for (const n of [2, 3, 4]) sockets[1].receive(event(n)); // the replay after 1
      sockets[1].receive({ stream: "chat", payload: { type: "recovery", recovery: { recovered: true, groups: { "room.a": { recovered: true, epoch: "e1", offset: 4, replayed: 3 } } } } });
      sockets[1].receive(event(5));
      assert.deepEqual(got, [1, 3, 2, 4, 5], "each event once; 3 not again");
      sockets[1].drop();
      assertReconnectAfter(timers, sockets, 125);
      assert.deepEqual(presented(sockets[2]), { chat: { "room.a": ["e1", 5] } });
      // Not recovered: events sent while the socket joined may follow the frame, below its offset.
      sockets[2].open();
      sockets[2].receive({ stream: "chat", payload: { type: "recovery", recovery: { recovered: false, groups: { "room.a": { recovered: false, reason: "too_old", epoch: "e1", offset: 9 } } } } });
      sockets[2].receive(event(8));
      sockets[2].receive(event(10));
      assert.deepEqual(got.slice(-2), [8, 10]);
    });

    test("an offset seen ahead fills in when the lower one comes; past 64 waiting the hole is given up on; a new epoch starts again", async (t) => {
      const timers = fakeTimers(t);
      const { conn, sockets } = setup(t, M, { random: () => 0.5 });
      const got = [];
      conn.channel(null).on("posted", (data) => got.push(data.n));
      const event = (n, epoch = "e1") => ({ type: "posted", data: { n }, pos: ["room.a", epoch, n] });
      const reconnect = () => {
        sockets.at(-1).drop();
        assertReconnectAfter(timers, sockets, 125);
        const position = presented(sockets.at(-1));
        sockets.at(-1).open();
        return position;
      };
      sockets[0].open();
      for (const n of [1, 3, 4, 2]) sockets[0].receive(event(n));
      assert.deepEqual(got, [1, 3, 4, 2]);
      assert.deepEqual(reconnect(), { "": { "room.a": ["e1", 4] } }, "2 filled the hole: the run reaches 4");
      got.length = 0;
      for (let n = 6; n <= 70; n++) sockets.at(-1).receive(event(n)); // 5 never comes
      assert.equal(got.length, 65);
      assert.deepEqual(reconnect(), { "": { "room.a": ["e1", 70] } }, "65 waiting: 5 is given up on");
      for (const n of [2, 4]) sockets.at(-1).receive(event(n, "e2")); // the stream started again
      assert.deepEqual(reconnect(), { "": { "room.a": ["e2", 2] } }, "a new epoch starts at its first event");
      assert.deepEqual(got.slice(-2), [2, 4], "the new epoch's offsets are new, whatever came before");
    });

    test("a drop rejects in-flight requests with disconnected; queued ones survive and go out after reconnect", async (t) => {
      const timers = fakeTimers(t);
      const { conn, sockets, states } = setup(t, M, { random: () => 0.5 });
      const chat = conn.channel("chat");
      sockets[0].open();
      const inFlight = track(chat.request("post", { n: 1 }));
      sockets[0].drop();
      await flush();
      assert.equal(inFlight.state, "rejected");
      assertChgenError(M, inFlight.error, { code: "disconnected", stream: "chat", id: 1 });
      assert.equal(conn.state, "reconnecting");
      const queued = track(chat.request("post", { n: 2 }));
      chat.send("typing", {});
      assertReconnectAfter(timers, sockets, 125);
      sockets[1].drop(); // this attempt fails before opening: nothing was sent
      await flush();
      assert.equal(queued.state, "pending");
      assertReconnectAfter(timers, sockets, 250);
      sockets[2].open();
      assert.deepEqual(sockets[2].sent, [
        { stream: "chat", payload: { type: "post", data: { n: 2 }, id: 2 } },
        { stream: "chat", payload: { type: "typing", data: {} } },
      ]);
      sockets[2].receive({ stream: "chat", payload: { type: "post", id: 2, data: { ok: true } } });
      await flush();
      assert.deepEqual(queued.value, { ok: true });
      assert.deepEqual(states, ["open", "reconnecting", "open"]);
      assert.deepEqual(sockets[0].sent.length, 1);
    });

    test("backoff: full jitter, doubling from initialDelay, capped at maxDelay", (t) => {
      const timers = fakeTimers(t);
      let calls = 0;
      const random = () => {
        calls++;
        return 0.5;
      };
      const { sockets } = setup(t, M, { random });
      sockets[0].open();
      sockets[0].drop();
      for (const delay of [125, 250, 500, 1000, 2000, 4000, 5000, 5000]) {
        assertReconnectAfter(timers, sockets, delay);
        sockets.at(-1).drop();
      }
      assert.equal(calls, 9);

      const custom = setup(t, M, { random: () => 0.5, reconnect: { initialDelay: 100, maxDelay: 1000 } });
      custom.sockets[0].open();
      custom.sockets[0].drop();
      for (const delay of [50, 100, 200, 400, 500, 500]) {
        assertReconnectAfter(timers, custom.sockets, delay);
        custom.sockets.at(-1).drop();
      }

      const zero = setup(t, M, { random: () => 0 });
      zero.sockets[0].drop();
      timers.tick(0);
      assert.equal(zero.sockets.length, 2, "random() = 0: reconnect at once");
    });

    test("the attempt count resets after a successful open", (t) => {
      const timers = fakeTimers(t);
      const { sockets, states } = setup(t, M, { random: () => 0.5 });
      sockets[0].open();
      sockets[0].drop();
      assertReconnectAfter(timers, sockets, 125);
      sockets[1].drop();
      assertReconnectAfter(timers, sockets, 250);
      sockets[2].open();
      sockets[2].drop();
      assertReconnectAfter(timers, sockets, 125);
      assert.deepEqual(states, ["open", "reconnecting", "open", "reconnecting"]);
    });

    test("after maxAttempts failed reconnects the connection closes and queued requests reject", async (t) => {
      const timers = fakeTimers(t);
      const { conn, sockets, states } = setup(t, M, { random: () => 0.5, reconnect: { maxAttempts: 2 } });
      sockets[0].open();
      sockets[0].drop();
      const queued = track(conn.channel("chat").request("post", {}));
      assertReconnectAfter(timers, sockets, 125);
      sockets[1].drop();
      assertReconnectAfter(timers, sockets, 250);
      sockets[2].drop();
      await flush();
      assert.equal(conn.state, "closed");
      assert.deepEqual(states, ["open", "reconnecting", "closed"]);
      assert.equal(queued.state, "rejected");
      assertChgenError(M, queued.error, { code: "closed", stream: "chat", id: 1 });
      timers.tick(1e9);
      assert.equal(sockets.length, 3);
      assert.throws(() => conn.channel("chat").send("x", {}), { code: "closed" });
    });

    test("reconnect: false closes at once on a drop, and schedules nothing", async (t) => {
      const live = trackTimers(t);
      const { conn, sockets, states } = setup(t, M, { reconnect: false, requestTimeout: 0 });
      const chat = conn.channel("chat");
      sockets[0].open();
      const inFlight = track(chat.request("post", {}));
      sockets[0].drop();
      await flush();
      assert.equal(conn.state, "closed");
      assert.deepEqual(states, ["open", "closed"]);
      assertChgenError(M, inFlight.error, { code: "disconnected", id: 1 });
      assert.equal(live.size, 0);
      assert.equal(sockets.length, 1);

      const never = setup(t, M, { reconnect: false });
      const queued = track(never.conn.channel(null).request("post", {}));
      never.sockets[0].drop(); // the first connection fails
      await flush();
      assert.equal(never.conn.state, "closed");
      assertChgenError(M, queued.error, { code: "closed", stream: null, id: 1 });
      assert.equal(live.size, 0, "no timer left behind");
    });

    test("close() is final: pending and queued requests reject with closed, no timers are left", async (t) => {
      const live = trackTimers(t);
      const { conn, ws, states } = setup(t, M);
      const chat = conn.channel("chat");
      ws.open();
      const inFlight = track(chat.request("post", {}));
      assert.equal(live.size, 1, "the request's timeout");
      conn.close();
      await flush();
      assert.deepEqual(ws.closedWith, [1000, undefined]);
      assert.equal(conn.state, "closed");
      assertChgenError(M, inFlight.error, { code: "closed", stream: "chat", id: 1 });
      assert.equal(live.size, 0);
      ws.drop(1000); // the socket's own close event comes later: no reconnect
      assert.equal(live.size, 0);
      assert.throws(
        () => chat.send("post", {}),
        (error) => {
          assertChgenError(M, error, { code: "closed", stream: "chat" });
          return true;
        },
      );
      await assert.rejects(chat.request("post", {}), { code: "closed" });
      conn.close(); // twice is harmless
      assert.deepEqual(states, ["open", "closed"]);
      assert.equal(live.size, 0);
    });

    test("close() while reconnecting cancels the reconnect and rejects queued requests", async (t) => {
      const live = trackTimers(t);
      const { conn, sockets, states } = setup(t, M, { random: () => 0.5 });
      sockets[0].open();
      sockets[0].drop();
      const queued = track(conn.channel("chat").request("post", {}));
      assert.equal(live.size, 2, "the reconnect and the request's timeout");
      conn.close(4000, "bye");
      await flush();
      assert.equal(sockets[0].closedWith, null, "the dropped socket is not closed again");
      assertChgenError(M, queued.error, { code: "closed" });
      assert.equal(live.size, 0);
      assert.deepEqual(states, ["open", "reconnecting", "closed"]);
      assert.equal(sockets.length, 1);
    });

    test("close(code, reason) passes both to the socket", (t) => {
      const { conn, ws } = setup(t, M);
      ws.open();
      conn.close(4000, "bye");
      assert.deepEqual(ws.closedWith, [4000, "bye"]);
    });

    test("state changes are reported once each, in order; a failing first connect stays connecting", (t) => {
      const timers = fakeTimers(t);
      const { conn, sockets, states } = setup(t, M, { random: () => 0.5 });
      assert.equal(conn.state, "connecting");
      sockets[0].drop();
      assert.equal(conn.state, "connecting");
      assertReconnectAfter(timers, sockets, 125);
      sockets[1].open();
      sockets[1].drop();
      assertReconnectAfter(timers, sockets, 125);
      sockets[2].drop();
      assertReconnectAfter(timers, sockets, 250);
      sockets[3].open();
      const off = conn.onState(() => assert.fail("unsubscribed"));
      off();
      conn.close();
      assert.deepEqual(states, ["open", "reconnecting", "open", "closed"]);
    });

    test("a listener that throws does not stop the others; the error goes to console.error", (t) => {
      const reported = t.mock.method(console, "error", () => {});
      const { conn, ws, states } = setup(t, M);
      const boom = new Error("boom");
      conn.onState(() => {
        throw boom;
      });
      const chat = conn.channel("chat");
      const log = [];
      chat.on("posted", () => {
        throw boom;
      });
      chat.on("posted", (data) => log.push(["on", data]));
      chat.onAny(() => {
        throw boom;
      });
      chat.onAny((event) => log.push(["any", event.type]));
      ws.open();
      assert.deepEqual(states, ["open"]);
      assert.equal(conn.state, "open");
      ws.receive({ stream: "chat", payload: { type: "posted", data: 1 } });
      assert.deepEqual(log, [
        ["on", 1],
        ["any", "posted"],
      ]);
      assert.equal(reported.mock.callCount(), 3);
      assert.ok(reported.mock.calls.every((call) => call.arguments[0] === boom));
    });

    test("channel(null) is an unmultiplexed socket: frames travel unwrapped", async (t) => {
      const { conn, ws, errors } = setup(t, M);
      const socket = conn.channel(null);
      assert.equal(conn.channel(null), socket);
      assert.equal(socket.stream, null);
      socket.send("typing", {});
      ws.open();
      const reply = track(socket.request("post", { text: "hi" }));
      assert.deepEqual(ws.sent, [
        { type: "typing", data: {} },
        { type: "post", data: { text: "hi" }, id: 1 },
      ]);
      const events = [];
      socket.on("posted", (data) => events.push(data));
      ws.receive({ type: "posted", data: { id: 1 } });
      ws.receive({ type: "post", id: 1, data: { id: 5 } });
      await flush();
      assert.deepEqual(events, [{ id: 1 }]);
      assert.deepEqual(reply.value, { id: 5 });
      // Errors: a pending id rejects; otherwise the channel's onError, else Connection.onError.
      const failing = track(socket.request("post", {}));
      ws.receive({ type: "error", id: 2, error: { code: "invalid", message: "bad" } });
      await flush();
      assertChgenError(M, failing.error, { code: "invalid", stream: null, id: 2 });
      ws.receive({ type: "error", error: { code: "unknown_type", message: "no handler" } });
      assert.deepEqual(errors.map((e) => [e.code, e.stream]), [["unknown_type", null]]);
      const socketErrors = [];
      socket.onError((error) => socketErrors.push(error));
      ws.receive({ type: "error", error: { code: "invalid", message: "bad" } });
      assert.deepEqual(socketErrors.map((e) => e.code), ["invalid"]);
      assert.equal(errors.length, 1);
    });

    test("without a WebSocket class the constructor says to pass one (the ws package in Node)", (t) => {
      const saved = Object.getOwnPropertyDescriptor(globalThis, "WebSocket");
      delete globalThis.WebSocket;
      try {
        assert.throws(
          () => new M.Connection("ws://test/"),
          (error) => error instanceof Error && /WebSocket/.test(error.message) && /\bws\b/.test(error.message),
        );
      } finally {
        if (saved) Object.defineProperty(globalThis, "WebSocket", saved);
      }
      const { FakeSocket, sockets } = fakeWebSocket();
      globalThis.WebSocket = FakeSocket;
      try {
        const conn = new M.Connection("ws://test/", { reconnect: false });
        assert.equal(sockets.length, 1, "globalThis.WebSocket is the default");
        assert.equal(sockets[0].url, "ws://test/?recover=");
        conn.close();
      } finally {
        if (saved) Object.defineProperty(globalThis, "WebSocket", saved);
        else delete globalThis.WebSocket;
      }
    });

    test("a stream class from name lists: one send, request and on function per name", async (t) => {
      const { conn, ws, errors } = setup(t, M);
      class ChatStream extends M.ChgenStream {
        constructor(channel) {
          super(channel, ["post", "constructor", "toString"], ["posted"]);
        }
      }
      const chat = new ChatStream(conn.channel("chat"));
      assert.equal(chat.channel, conn.channel("chat"));
      assert.deepEqual(Object.keys(chat.send), ["post", "constructor", "toString"]);
      assert.deepEqual(Object.keys(chat.request), ["post", "constructor", "toString"]);
      assert.deepEqual(Object.keys(chat.on), ["posted"]);
      ws.open();
      assert.equal(chat.send.post({ text: "hi" }), undefined);
      chat.send.constructor({});
      const reply = track(chat.request.toString({ n: 1 }, { timeout: 0 }));
      assert.deepEqual(ws.sent, [
        { stream: "chat", payload: { type: "post", data: { text: "hi" } } },
        { stream: "chat", payload: { type: "constructor", data: {} } },
        { stream: "chat", payload: { type: "toString", data: { n: 1 }, id: 1 } },
      ]);
      const log = [];
      const off = chat.on.posted((data) => log.push(["posted", data]));
      chat.onAny((event) => log.push(["any", event]));
      const streamErrors = [];
      chat.onError((error) => streamErrors.push(error.code));
      ws.receive({ stream: "chat", payload: { type: "toString", id: 1, data: "ok" } });
      ws.receive({ stream: "chat", payload: { type: "posted", data: { id: 1 } } });
      off();
      ws.receive({ stream: "chat", payload: { type: "posted", data: { id: 2 } } });
      ws.receive({ stream: "chat", payload: { type: "error", error: { code: "invalid", message: "x" } } });
      await flush();
      assert.equal(reply.value, "ok");
      assert.deepEqual(log, [
        ["posted", { id: 1 }],
        ["any", { type: "posted", data: { id: 1 } }],
        ["any", { type: "posted", data: { id: 2 } }],
      ]);
      assert.deepEqual(streamErrors, ["invalid"]);
      assert.deepEqual(errors, []);
    });

    test("socketOf: a socket class that is its stream class over the unmultiplexed socket", async (t) => {
      const { FakeSocket, sockets } = fakeWebSocket();
      class EchoStream extends M.ChgenStream {
        constructor(channel) {
          super(channel, ["say"], ["said"]);
        }
      }
      class EchoSocket extends M.socketOf(EchoStream) {}
      const socket = new EchoSocket("ws://test/echo/", { WebSocket: FakeSocket, requestTimeout: 0 });
      t.after(() => socket.close());
      assert.ok(socket instanceof EchoSocket && socket instanceof EchoStream && socket instanceof M.ChgenStream);
      assert.ok(socket.connection instanceof M.Connection);
      assert.equal(socket.connection.url, "ws://test/echo/");
      assert.equal(socket.channel, socket.connection.channel(null));
      const reply = track(socket.request.say({ text: "hi" }));
      const heard = [];
      socket.on.said((data) => heard.push(data));
      sockets[0].open();
      assert.deepEqual(sockets[0].sent, [{ type: "say", data: { text: "hi" }, id: 1 }]);
      sockets[0].receive({ type: "said", data: 1 });
      sockets[0].receive({ type: "say", id: 1, data: { text: "hi" } });
      await flush();
      assert.deepEqual(reply.value, { text: "hi" });
      assert.deepEqual(heard, [1]);
      socket.close(4000, "bye");
      assert.deepEqual(sockets[0].closedWith, [4000, "bye"]);
      assert.equal(socket.connection.state, "closed");
    });

    test("ChgenClient: one property per stream name, each a stream on its own channel", (t) => {
      const { FakeSocket, sockets } = fakeWebSocket();
      class A extends M.ChgenStream {
        constructor(channel) {
          super(channel, ["ping"], []);
        }
      }
      class B extends M.ChgenStream {
        constructor(channel) {
          super(channel, ["ping"], []);
        }
      }
      class Lobby extends M.ChgenClient {
        constructor(url, options) {
          super(url, options, { a: A, "odd-name.x": B, constructor: A });
        }
      }
      const client = new Lobby("ws://test/", { WebSocket: FakeSocket });
      t.after(() => client.close());
      assert.ok(client.a instanceof A && client["odd-name.x"] instanceof B);
      assert.ok(client.constructor instanceof A, "a stream may be called anything");
      assert.equal(client.a.channel, client.connection.channel("a"));
      sockets[0].open();
      client.a.send.ping({});
      client["odd-name.x"].send.ping({});
      assert.deepEqual(sockets[0].sent, [
        { stream: "a", payload: { type: "ping", data: {} } },
        { stream: "odd-name.x", payload: { type: "ping", data: {} } },
      ]);
      client.close(4001);
      assert.deepEqual(sockets[0].closedWith, [4001, undefined]);
    });

    test("a request that expires in the queue says it was never sent", async (t) => {
      const timers = fakeTimers(t);
      const { conn, ws } = setup(t, M);
      const queued = track(conn.channel(null).request("post", {}, { timeout: 100 }));
      timers.tick(100);
      await flush();
      assertChgenError(M, queued.error, { code: "timeout", id: 1 });
      assert.match(queued.error.message, /post not sent in 100 ms: the socket did not open/);
      ws.open();
      const sent = track(conn.channel(null).request("post", {}, { timeout: 100 }));
      timers.tick(100);
      await flush();
      assert.match(sent.error.message, /no answer to post in 100 ms/);
    });

    test("protocols and headers go to the WebSocket class; none by default", (t) => {
      const plain = setup(t, M);
      assert.deepEqual(plain.ws.protocols, []);
      assert.deepEqual(plain.ws.options, { headers: {} });
      const one = setup(t, M, { protocols: "chgen.v1" });
      assert.deepEqual(one.ws.protocols, ["chgen.v1"]);
      const headers = { "X-Team": "blue" };
      const both = setup(t, M, { protocols: ["a", "b"], headers });
      assert.deepEqual(both.ws.protocols, ["a", "b"]);
      assert.deepEqual(both.ws.options, { headers: { "X-Team": "blue" } });
      assert.notEqual(both.ws.options.headers, headers, "the caller's object is not changed");
    });

    test("auth: a token per attempt, in the query, a subprotocol or a header; a fresh one on reconnect", async (t) => {
      const timers = fakeTimers(t);
      let issued = 0;
      const token = () => `tok ${++issued}`;
      const query = setup(t, M, { random: () => 0, auth: { token } });
      assert.equal(query.sockets.length, 0, "no socket before the token is there");
      await flush();
      assert.equal(query.ws.url, "ws://test/ws/lobby/?recover=&token=tok%201");
      assert.equal(query.conn.url, "ws://test/ws/lobby/", "the connection's url never shows the token");
      query.ws.open();
      query.ws.drop();
      timers.tick(0);
      await flush();
      assert.equal(query.sockets.length, 2);
      assert.equal(query.ws.url, "ws://test/ws/lobby/?recover=&token=tok%202", "a reconnect asks for a fresh token");
      assert.equal(issued, 2);

      const named = setup(t, M, { auth: { token: async () => "a&b", name: "access_token" } });
      await flush();
      assert.equal(named.ws.url, "ws://test/ws/lobby/?recover=&access_token=a%26b");
      const more = new M.Connection("ws://test/?room=1", { WebSocket: named.ws.constructor, auth: { token: () => "t" } });
      t.after(() => more.close());
      await flush();
      assert.equal(named.sockets.at(-1).url, "ws://test/?room=1&recover=&token=t");

      const protocol = setup(t, M, { protocols: ["chgen.v1"], auth: { token: () => "t1", in: "protocol", name: "bearer." } });
      await flush();
      assert.deepEqual(protocol.ws.protocols, ["chgen.v1", "bearer.t1"]);
      assert.equal(protocol.ws.url, "ws://test/ws/lobby/?recover=");

      const header = setup(t, M, { headers: { "X-Team": "blue" }, auth: { token: () => "Bearer t1", in: "header" } });
      await flush();
      assert.deepEqual(header.ws.options, { headers: { "X-Team": "blue", Authorization: "Bearer t1" } });
      const custom = setup(t, M, { auth: { token: () => "t1", in: "header", name: "X-Token" } });
      await flush();
      assert.deepEqual(custom.ws.options, { headers: { "X-Token": "t1" } });
    });

    test("auth: frames wait in the queue for the token; close() while it is fetched opens nothing", async (t) => {
      let resolve;
      const { conn, sockets, states } = setup(t, M, { auth: { token: () => new Promise((r) => (resolve = r)) } });
      const chat = conn.channel("chat");
      chat.send("typing", {});
      const reply = track(chat.request("post", {}));
      await flush();
      assert.equal(sockets.length, 0);
      assert.equal(conn.state, "connecting");
      resolve("t");
      await flush();
      sockets[0].open();
      assert.deepEqual(sockets[0].sent.map((frame) => frame.payload.type), ["typing", "post"]);
      assert.equal(reply.state, "pending");

      const live = trackTimers(t);
      let fetches = 0;
      const late = setup(t, M, { auth: { token: () => new Promise((r) => (fetches++, (resolve = r))) } });
      const lost = track(late.conn.channel(null).request("post", {}));
      await flush();
      late.conn.close();
      resolve("t");
      await flush();
      assert.equal(late.sockets.length, 0, "no socket after close()");
      assertChgenError(M, lost.error, { code: "closed" });
      assert.equal(fetches, 1);
      assert.deepEqual(states, ["open"]);
      assert.equal(live.size, 0, "no timer left behind");
    });

    test("auth: a token that fails rejects waiting requests with auth_failed, and the next attempt retries", async (t) => {
      const timers = fakeTimers(t);
      let calls = 0;
      const token = () => {
        calls++;
        if (calls === 1) throw new Error("no session");
        if (calls === 2) return Promise.reject(new Error("refresh failed"));
        return "good";
      };
      const { conn, sockets, errors, states } = setup(t, M, { random: () => 0.5, auth: { token } });
      const waiting = track(conn.channel("chat").request("post", {}));
      conn.channel("chat").send("typing", {});
      await flush();
      assertChgenError(M, waiting.error, { code: "auth_failed", stream: "chat", id: 1, status: null });
      assert.match(waiting.error.message, /no session/);
      assert.deepEqual(errors.map((e) => [e.code, e.stream, e.id]), [["auth_failed", null, null]]);
      assert.equal(conn.state, "connecting");
      timers.tick(125);
      await flush();
      assert.match(errors[1].message, /refresh failed/);
      assert.equal(sockets.length, 0);
      timers.tick(250);
      await flush();
      assert.equal(calls, 3);
      sockets[0].open();
      assert.deepEqual(sockets[0].sent, [{ stream: "chat", payload: { type: "typing", data: {} } }], "sends wait on");
      assert.deepEqual(states, ["open"]);
    });

    test("a refused handshake rejects waiting requests with handshake_refused and its HTTP status", async (t) => {
      const timers = fakeTimers(t);
      const { conn, sockets, errors, states } = setup(t, M, { random: () => 0.5 }, fakeNodeWebSocket);
      const chat = conn.channel("chat");
      const waiting = track(chat.request("post", {}, { timeout: 60_000 }));
      chat.send("typing", {});
      sockets[0].refuse(403);
      await flush();
      assertChgenError(M, waiting.error, { code: "handshake_refused", stream: "chat", id: 1, status: 403 });
      assert.match(waiting.error.message, /refused.*403/);
      assert.deepEqual(errors.map((e) => [e.code, e.status, e.stream]), [["handshake_refused", 403, null]]);
      assert.equal(conn.state, "connecting", "the connection keeps trying, as after any failed attempt");
      assertReconnectAfter(timers, sockets, 125);
      const again = track(chat.request("post", {}, { timeout: 60_000 }));
      sockets[1].refuse(503);
      await flush();
      assertChgenError(M, again.error, { code: "handshake_refused", status: 503 });
      assertReconnectAfter(timers, sockets, 250);
      sockets[2].open();
      assert.deepEqual(sockets[2].sent, [{ stream: "chat", payload: { type: "typing", data: {} } }]);
      assert.deepEqual(states, ["open"]);

      const once = setup(t, M, { reconnect: false }, fakeNodeWebSocket);
      const lost = track(once.conn.channel(null).request("post", {}));
      once.ws.refuse(401);
      await flush();
      assertChgenError(M, lost.error, { code: "handshake_refused", status: 401 });
      assert.equal(once.conn.state, "closed");
      assert.deepEqual(once.states, ["closed"]);
    });

    test("works over a real socket with the ws package", async (t) => {
      const { WebSocketServer, WebSocket } = await import("ws");
      const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
      await once(server, "listening");
      t.after(() => server.close());
      let connections = 0;
      server.on("connection", (socket) => {
        connections++;
        socket.on("message", (raw) => {
          const { stream, payload } = JSON.parse(String(raw));
          if (payload.type === "kick") return socket.close(4001, "kicked");
          socket.send(JSON.stringify({ stream, payload: { type: "posted", data: payload.data } }));
          if (payload.id != null) socket.send(JSON.stringify({ stream, payload: { type: payload.type, id: payload.id, data: { ok: 1 } } }));
        });
      });
      const url = `ws://127.0.0.1:${server.address().port}/`;
      const conn = new M.Connection(url, { WebSocket, random: () => 0 });
      t.after(() => conn.close());
      const chat = conn.channel("chat");
      const events = [];
      chat.on("posted", (data) => events.push(data));
      assert.deepEqual(await chat.request("post", { text: "queued" }), { ok: 1 });
      assert.deepEqual(events, [{ text: "queued" }]);
      const states = [];
      const reopened = new Promise((resolve) =>
        conn.onState((state) => {
          states.push(state);
          if (state === "open") resolve();
        }),
      );
      chat.send("kick", {});
      await reopened;
      assert.deepEqual(states, ["reconnecting", "open"]);
      assert.deepEqual(await chat.request("post", { text: "again" }), { ok: 1 });
      assert.equal(connections, 2);
      conn.close();
      assert.equal(conn.state, "closed");

      // A refused connection must not crash Node (ws emits "error" events).
      const refused = new M.Connection(url.replace(/:\d+/, ":1"), { WebSocket, reconnect: false });
      const closed = new Promise((resolve) => refused.onState((state) => state === "closed" && resolve()));
      const lost = refused.channel(null).request("post", {});
      await closed;
      await assert.rejects(lost, { code: "closed" });
    });

    test("over the ws package: protocols, headers and a token arrive; a refusal carries its status", { timeout: 10_000 }, async (t) => {
      const { WebSocketServer, WebSocket } = await import("ws");
      const seen = [];
      const server = new WebSocketServer({
        port: 0,
        host: "127.0.0.1",
        verifyClient: ({ req }, done) => {
          seen.push([req.url, req.headers["sec-websocket-protocol"], req.headers["x-team"]]);
          if (req.url.endsWith("token=good")) done(true);
          else done(false, 401, "Unauthorized");
        },
        handleProtocols: (protocols) => (protocols.has("chgen.v1") ? "chgen.v1" : false),
      });
      await once(server, "listening");
      t.after(() => server.close());
      server.on("connection", (socket) => {
        socket.on("message", (raw) => {
          const { type, id } = JSON.parse(String(raw));
          socket.send(JSON.stringify({ type, id, data: socket.protocol }));
        });
      });
      const tokens = ["bad", "good"];
      const conn = new M.Connection(`ws://127.0.0.1:${server.address().port}/`, {
        WebSocket,
        random: () => 0,
        protocols: "chgen.v1",
        headers: { "X-Team": "blue" },
        auth: { token: () => tokens.shift() },
      });
      t.after(() => conn.close());
      const errors = [];
      conn.onError((error) => errors.push(error));
      await assert.rejects(conn.channel(null).request("hello", {}), (error) => {
        assertChgenError(M, error, { code: "handshake_refused", status: 401, id: 1 });
        return true;
      });
      assert.equal(await conn.channel(null).request("hello", {}), "chgen.v1", "the next attempt, with a fresh token, gets in");
      assert.deepEqual(seen, [
        ["/?recover=&token=bad", "chgen.v1", "blue"],
        ["/?recover=&token=good", "chgen.v1", "blue"],
      ]);
      assert.deepEqual(errors.map((e) => [e.code, e.status]), [["handshake_refused", 401]]);
    });
  });
}

// ---------------------------------------------------------------------------------------
// The core compiles strictly, stays ES2020 and small, and types a user's code either way

describe("static checks", () => {
  test("core.ts type-checks under --strict (ES2020 + DOM, no Node types)", () => {
    assert.ok(compiled.ok, `tsc -p tests/client/tsconfig.json failed:\n${compiled.output}`);
  });

  test("core.js uses only ES2020 syntax", async () => {
    const { transformSync } = await esbuild();
    const source = readFileSync(path.join(CORE, "core.js"), "utf8");
    const lower = (target) => transformSync(source, { loader: "js", format: "esm", minifyWhitespace: true, target }).code;
    assert.equal(lower("es2020"), lower("esnext"), "esbuild had to lower syntax newer than ES2020");
  });

  test(`core.js is under ${SIZE_BUDGET} bytes minified and gzipped`, async () => {
    const { transformSync } = await esbuild();
    const minified = transformSync(readFileSync(path.join(CORE, "core.js"), "utf8"), {
      loader: "js",
      format: "esm",
      minify: true,
    }).code;
    const size = gzipSync(minified, { level: 9 }).length;
    assert.ok(size < SIZE_BUDGET, `${size} bytes`);
  });

  const USAGE = `
import WebSocket from "ws";
import { Channel, ChgenClient, ChgenError, ChgenStream, Connection, socketOf } from "./client.js";
import type { AuthOptions, ChgenSocket, ClientOptions, ConnectionState, ErrorDetail, ReconnectOptions, RequestOptions, WebSocketConstructor, WebSocketLike } from "./client.js";

const reconnect: ReconnectOptions = { initialDelay: 100, maxDelay: 1000, maxAttempts: 5 };
const auth: AuthOptions = { token: async () => "t", in: "protocol", name: "bearer." };
const options: ClientOptions = {
  WebSocket,
  reconnect,
  queueLimit: 10,
  requestTimeout: 500,
  random: Math.random,
  protocols: ["chgen.v1"],
  headers: { "X-Team": "blue" },
  auth,
};
new Connection("ws://localhost/", { protocols: "chgen.v1", auth: { token: () => "t" } });
new Connection("ws://localhost/", { auth: { token: () => "Bearer t", in: "header", name: "Authorization" } });
// @ts-expect-error the token goes in the query, a subprotocol or a header
new Connection("ws://localhost/", { auth: { token: () => "t", in: "cookie" } });
// @ts-expect-error a token is a string
new Connection("ws://localhost/", { auth: { token: () => 5 } });
const conn: Connection = new Connection("ws://localhost/", options);
new Connection("ws://localhost/", { WebSocket: globalThis.WebSocket, reconnect: false });
new Connection("ws://localhost/");
const browser: WebSocketConstructor = globalThis.WebSocket;
const node: WebSocketConstructor = WebSocket;
const like: WebSocketLike = new node("ws://localhost/");
const readyState: number = like.readyState;
const url: string = conn.url;
const state: ConnectionState = conn.state;
const offState: () => void = conn.onState((next: ConnectionState) => void next);
const offError: () => void = conn.onError((error: ChgenError) => void error);
const chat: Channel = conn.channel("chat");
const solo: Channel = conn.channel(null);
const stream: string | null = chat.stream;
chat.send("post", { text: "hi" });
const requestOptions: RequestOptions = { timeout: 5 };
const reply: Promise<unknown> = chat.request("post", {}, requestOptions);
solo.request("post", null);
const offOn: () => void = chat.on("posted", (data: unknown) => void data);
chat.onAny((event) => {
  const type: string = event.type;
  const data: unknown = event.data;
});
chat.onError((error) => {
  const code: string = error.code;
  const message: string = error.message;
  const details: readonly ErrorDetail[] = error.details;
  const path: string = details[0].path;
  const where: string | null = error.stream;
  const id: string | number | null = error.id;
  const isError: Error = error;
});
const made = new ChgenError("timeout", "slow", [{ path: "$", message: "m" }], "chat", 3);
new ChgenError("timeout", "slow");
const refused = new ChgenError("handshake_refused", "refused", [], null, null, 403);
const status: number | null = refused.status;

// What a generated client declares with the generic classes.
interface EchoSend { readonly say: (data: { text: string }) => void }
interface EchoRequest { readonly say: (data: { text: string }, options?: RequestOptions) => Promise<{ text: string }> }
interface EchoOn { readonly said: (handler: (data: { text: string }) => void) => () => void }
type EchoEvent = { readonly type: "said"; readonly data: { text: string } };
class EchoStream extends ChgenStream<EchoSend, EchoRequest, EchoOn, EchoEvent> {
  constructor(channel: Channel) {
    super(channel, ["say"], ["said"]);
  }
}
class EchoSocket extends socketOf(EchoStream) {}
class Hub extends ChgenClient {
  declare readonly echo: EchoStream;
  constructor(url: string, options?: ClientOptions) {
    super(url, options, { echo: EchoStream });
  }
}
const echoSocket = new EchoSocket("ws://localhost/", options);
const asStream: EchoStream = echoSocket;
const asSocket: ChgenSocket = echoSocket;
const connection: Connection = echoSocket.connection;
echoSocket.send.say({ text: "hi" });
const said: Promise<{ text: string }> = echoSocket.request.say({ text: "hi" }, { timeout: 5 });
echoSocket.on.said((data) => void data.text);
echoSocket.onAny((event) => {
  const type: "said" = event.type;
});
echoSocket.close(1000, "bye");
const hub = new Hub("ws://localhost/");
hub.echo.send.say({ text: "hi" });
hub.close();
// @ts-expect-error wrong payload
echoSocket.send.say({ text: 5 });
// @ts-expect-error unknown message type
echoSocket.send.shout({ text: "hi" });
// @ts-expect-error a plain stream has no connection of its own
new EchoStream(conn.channel("echo")).connection;
conn.close();
conn.close(4000, "bye");
// @ts-expect-error reconnect is options or false
new Connection("ws://localhost/", { reconnect: true });
// @ts-expect-error private
conn.pending;
// @ts-expect-error readonly
conn.url = "x";
// @ts-expect-error states are a closed set
const bad: ConnectionState = "opening";
// @ts-expect-error the code is readonly
made.code = "other";
`;

  for (const [label, files] of [
    ["client.js through core.d.ts", { "client.js": "core.js", "client.d.ts": "core.d.ts" }],
    ["client.ts (core.ts)", { "client.ts": "core.ts" }],
  ]) {
    test(`a usage file type-checks under --strict against ${label}`, () => {
      const dir = path.join(tmp, label.replace(/\W+/g, "_"));
      mkdirSync(dir);
      for (const [to, from] of Object.entries(files)) copyFileSync(path.join(CORE, from), path.join(dir, to));
      symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
      writeFileSync(path.join(dir, "usage.ts"), USAGE);
      const result = tsc([
        "--strict",
        "--noEmit",
        "--target",
        "ES2020",
        "--module",
        "ES2020",
        "--moduleResolution",
        "bundler",
        "--types",
        "node",
        path.join(dir, "usage.ts"),
      ]);
      assert.ok(result.ok, result.output);
    });
  }
});
