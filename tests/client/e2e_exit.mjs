// A child process of node_e2e.test.mjs: one scenario that ends with client.close(), after
// which this process must exit on its own. It never calls process.exit(): a timer, socket or
// retry left behind by close() keeps it alive, and the parent sees it time out. Every timer
// the client could leave is long (requestTimeout 60 s, retry delays up to 60 s), so a leak
// cannot hide inside the parent's few-second bound.
//
// Usage: node e2e_exit.mjs SCENARIO  (environment: CHGEN_URL, CHGEN_CLIENT)
// Prints one JSON line per observation; an assertion failure exits 1 with its stack.

import assert from "node:assert/strict";
import net from "node:net";
import {
  assertChgenError,
  countingWebSocket,
  env,
  loadClient,
  rejection,
  startProxy,
  uniqueRoom,
  waitFor,
  whenState,
  within,
  WebSocket,
} from "./e2e_util.mjs";

const M = await loadClient();
const BASE = env("CHGEN_URL");
const LONG = 60_000;
const report = (what) => console.log(JSON.stringify(what));

function client(base, options = {}) {
  return new M.LobbyClient(M.lobbyUrl(base, { room: uniqueRoom("exit") }), {
    WebSocket,
    requestTimeout: LONG,
    reconnect: { initialDelay: LONG, maxDelay: LONG },
    ...options,
  });
}

/** After close(): the state is closed, requests reject and sends throw with `closed`. */
async function assertClosedForGood(c, states) {
  assert.equal(c.connection.state, "closed");
  assert.equal(states.at(-1), "closed", `states: ${states}`);
  const error = await rejection(c.echo.request.say({ text: "after close" }), 1_000, "a request after close()");
  assertChgenError(M, error, { code: "closed", stream: "echo" });
  assert.throws(
    () => c.chat.send.post({ text: "after close" }),
    (e) => e instanceof M.ChgenError && e.code === "closed",
  );
  c.close(); // a second close() is harmless
  assert.equal(c.connection.state, "closed");
}

function record(c) {
  const states = [];
  c.connection.onState((state) => states.push(state));
  return states;
}

const scenarios = {
  /** Open, one request answered, close. */
  async idle() {
    const c = client(BASE);
    const states = record(c);
    await whenState(c, "open");
    assert.deepEqual(await within(c.echo.request.say({ text: "hi" }), 5_000, "say"), { text: "hi" });
    c.close();
    await assertClosedForGood(c, states);
    report({ scenario: "idle", states });
  },

  /** A request in flight (its 60 s timer running) when close() is called rejects with closed. */
  async pending() {
    const c = client(BASE);
    const states = record(c);
    await whenState(c, "open");
    const inFlight = c.chat.request.post({ text: "in flight at close" });
    c.close();
    const error = await rejection(inFlight, 1_000, "the request in flight at close()");
    assertChgenError(M, error, { code: "closed", stream: "chat" });
    await assertClosedForGood(c, states);
    report({ scenario: "pending", code: error.code, states });
  },

  /** close() while the first socket is still connecting, with a request queued. */
  async connecting() {
    const c = client(BASE);
    const states = record(c);
    assert.equal(c.connection.state, "connecting");
    const queued = c.echo.request.say({ text: "queued" });
    c.close();
    const error = await rejection(queued, 1_000, "the queued request at close()");
    assertChgenError(M, error, { code: "closed", stream: "echo" });
    await assertClosedForGood(c, states);
    report({ scenario: "connecting", code: error.code, states });
  },

  /** close() between retries of a first connection that keeps failing (nothing listens). */
  async retrying() {
    const probe = net.createServer();
    await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const deadPort = probe.address().port;
    await new Promise((resolve) => probe.close(resolve));
    const { Counting, created } = countingWebSocket();
    const c = client(`ws://127.0.0.1:${deadPort}`, {
      WebSocket: Counting,
      reconnect: { initialDelay: 20, maxDelay: 40 },
    });
    const states = record(c);
    const queued = c.chat.request.post({ text: "never sent" });
    await waitFor(() => created.length >= 3, 5_000, "three connection attempts");
    assert.equal(c.connection.state, "connecting", "retries of a first connection stay connecting");
    c.close();
    const error = await rejection(queued, 1_000, "the queued request at close()");
    assertChgenError(M, error, { code: "closed", stream: "chat" });
    await assertClosedForGood(c, states);
    report({ scenario: "retrying", attempts: created.length, states });
  },

  /** close() while reconnecting after the server went away (a 60 s retry timer scheduled). */
  async reconnecting() {
    const proxy = await startProxy(BASE);
    const c = client(proxy.url);
    const states = record(c);
    await whenState(c, "open");
    await proxy.cut();
    await waitFor(() => c.connection.state === "reconnecting", 5_000, "state reconnecting");
    const queued = c.echo.request.say({ text: "while down" });
    c.close();
    const error = await rejection(queued, 1_000, "the queued request at close()");
    assertChgenError(M, error, { code: "closed", stream: "echo" });
    await assertClosedForGood(c, states);
    await proxy.close();
    report({ scenario: "reconnecting", states });
  },
};

const name = process.argv[2];
assert.ok(name in scenarios, `unknown scenario ${name}; one of ${Object.keys(scenarios)}`);
await scenarios[name]();
report({ done: name });
