// End to end: the generated chat client (generated/chat/client.*) in Node, against the real
// chat server (uvicorn generated.chat.routing:application), with the `ws` package's WebSocket.
//
// tests/test_client_e2e.py runs this file twice with the same server: once with CHGEN_CLIENT
// pointing at the shipped generated/chat/client.js, once at client.ts compiled by tsc. Both
// runs must pass, so the hand-written .js behaves exactly like the compiled .ts.
//
// Environment: CHGEN_URL (ws://127.0.0.1:PORT), CHGEN_CLIENT (the module's path).
// Run: node --test tests/client/node_e2e.test.mjs
//
// Every wait is bounded: each test has a node:test timeout, and every await of the client
// goes through within()/waitFor()/rejection(), which fail with a message naming the wait.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  assertChgenError,
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

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE = env("CHGEN_URL");
const CLIENT = env("CHGEN_CLIENT");
const M = await loadClient();

const T = { timeout: 15_000 }; // per test
const WAIT = 5_000; // per wait

const clients = new Set();
after(() => {
  for (const client of clients) client.close();
});

/** A client of room `room` at `base`; closed when the test file ends, if not before. */
function connect(room, options = {}, base = BASE) {
  const client = new M.LobbyClient(M.lobbyUrl(base, { room }), { WebSocket, ...options });
  clients.add(client);
  return client;
}

async function open(room, options, base) {
  const client = connect(room, options, base);
  await whenState(client, "open", WAIT);
  return client;
}

/** Every `posted` event `client` receives, in order. */
function collectPosted(client) {
  const seen = [];
  client.chat.on.posted((data) => seen.push(data));
  return seen;
}

const texts = (events) => events.map((event) => event.text);

describe(`generated chat client ${CLIENT} against ${BASE}`, () => {
  test("lobbyUrl builds the route's URL", () => {
    assert.equal(M.lobbyUrl("ws://h:1", { room: "a-1" }), "ws://h:1/ws/a-1/");
    assert.equal(M.lobbyUrl("ws://h:1//", { room: "a-1" }), "ws://h:1/ws/a-1/");
  });

  test("request/reply: post resolves with the Ack, say echoes", T, async () => {
    const client = await open(uniqueRoom("reply"));
    const ack = await within(client.chat.request.post({ text: "hello" }), WAIT, "post");
    assert.deepEqual(Object.keys(ack), ["id"]);
    assert.ok(Number.isInteger(ack.id), `Ack.id is an integer: ${JSON.stringify(ack)}`);
    const second = await within(client.chat.request.post({ text: "again" }), WAIT, "post");
    assert.ok(second.id > ack.id, "the server numbers posts in order");
    for (const text of ["ping", "", "héllo ✓ \u{1F600} \"quoted\" \\ \n", "x".repeat(2000)]) {
      assert.deepEqual(await within(client.echo.request.say({ text }), WAIT, "say"), { text });
    }
    assert.equal(client.connection.state, "open");
    client.close();
  });

  test("requests made before the socket opens are queued, then answered", T, async () => {
    const client = connect(uniqueRoom("early"));
    assert.equal(client.connection.state, "connecting");
    const say = client.echo.request.say({ text: "early" });
    const post = client.chat.request.post({ text: "early post" });
    assert.deepEqual(await within(say, WAIT, "queued say"), { text: "early" });
    assert.ok(Number.isInteger((await within(post, WAIT, "queued post")).id));
    assert.equal(client.connection.state, "open");
    client.close();
  });

  test("concurrent requests on two streams get their own replies", T, async () => {
    const client = await open(uniqueRoom("many"));
    const says = Array.from({ length: 30 }, (_, i) => client.echo.request.say({ text: `say ${i}` }));
    const posts = Array.from({ length: 10 }, (_, i) => client.chat.request.post({ text: `post ${i}` }));
    const replies = await within(Promise.all(says), WAIT, "30 concurrent says");
    assert.deepEqual(replies, says.map((_, i) => ({ text: `say ${i}` })));
    const ids = (await within(Promise.all(posts), WAIT, "10 concurrent posts")).map((ack) => ack.id);
    assert.equal(new Set(ids).size, ids.length, `distinct ids: ${ids}`);
    client.close();
  });

  test("a post is broadcast to everyone in its room, with the Ack's id, and nowhere else", T, async () => {
    const room = uniqueRoom("room");
    const [alice, bob, carol] = await Promise.all([open(room), open(room), open(uniqueRoom("other"))]);
    const [atAlice, atBob, atCarol] = [alice, bob, carol].map(collectPosted);
    const anyAtBob = [];
    bob.chat.onAny((event) => anyAtBob.push(event));

    const ack = await within(alice.chat.request.post({ text: "hi room" }), WAIT, "alice's post");
    await waitFor(() => atAlice.length >= 1 && atBob.length >= 1, WAIT, "posted at alice and bob");
    assert.deepEqual(atAlice, [{ id: ack.id, text: "hi room" }]);
    assert.deepEqual(atBob, [{ id: ack.id, text: "hi room" }]);
    assert.deepEqual(anyAtBob, [{ type: "posted", data: { id: ack.id, text: "hi room" } }]);

    // Carol's socket works (she gets her own room's post) and never saw alice's.
    const own = await within(carol.chat.request.post({ text: "hi other room" }), WAIT, "carol's post");
    await waitFor(() => atCarol.length >= 1, WAIT, "posted at carol");
    // And the room hears bob but not carol.
    const fromBob = await within(bob.chat.request.post({ text: "bob here" }), WAIT, "bob's post");
    await waitFor(() => atAlice.length >= 2 && atBob.length >= 2, WAIT, "bob's post at alice and bob");
    assert.deepEqual(atCarol, [{ id: own.id, text: "hi other room" }]);
    assert.deepEqual(atAlice, [{ id: ack.id, text: "hi room" }, { id: fromBob.id, text: "bob here" }]);
    assert.deepEqual(atBob, atAlice);
    for (const client of [alice, bob, carol]) client.close();
  });

  test("send.post needs no answer; unsubscribing stops a handler only", T, async () => {
    const room = uniqueRoom("send");
    const [alice, bob] = await Promise.all([open(room), open(room)]);
    const first = [];
    const second = [];
    const stop = bob.chat.on.posted((data) => first.push(data.text));
    bob.chat.on.posted((data) => second.push(data.text));
    assert.equal(alice.chat.send.post({ text: "fire" }), undefined);
    await waitFor(() => first.length === 1 && second.length === 1, WAIT, "bob hears the send");
    stop();
    alice.chat.send.post({ text: "and forget" });
    await waitFor(() => second.length === 2, WAIT, "bob's remaining handler hears the second send");
    assert.deepEqual(first, ["fire"]);
    assert.deepEqual(second, ["fire", "and forget"]);
    for (const client of [alice, bob]) client.close();
  });

  test("an invalid payload rejects with invalid at $.data.text; the socket stays open", T, async () => {
    const client = await open(uniqueRoom("invalid"));
    const unexpected = [];
    client.connection.onError((error) => unexpected.push(error));
    client.chat.onError((error) => unexpected.push(error));
    const cases = [
      ["empty text", { text: "" }, /at least 1/],
      ["2001 characters", { text: "x".repeat(2001) }, /at most 2000/],
      ["2001 emoji", { text: "😀".repeat(2001) }, /at most 2000 characters, got 2001/],
      ["a number for a string", { text: 5 }, /string/],
      ["a missing field", {}, /./],
    ];
    for (const [what, data, detail] of cases) {
      // The typed request is refused by the client itself, before it is sent (no id)...
      const local = await rejection(client.chat.request.post(data), WAIT, what);
      assertChgenError(M, local, { code: "invalid", stream: "chat" });
      assert.equal(local.id, null, `${what}: refused before it was sent`);
      // ...and the server, sent the same data untyped, answers with the same error.
      const error = await rejection(client.chat.channel.request("post", data), WAIT, what);
      assertChgenError(M, error, { code: "invalid", stream: "chat" });
      assert.ok(Number.isInteger(error.id), `${what}: the error answers the request's id, got ${error.id}`);
      assert.ok(error.details.length >= 1, `${what}: details ${JSON.stringify(error.details)}`);
      assert.equal(error.details[0].path, "$.data.text", `${what}: ${JSON.stringify(error.details)}`);
      assert.match(error.details[0].message, detail, what);
      assert.equal(local.message, error.message, what);
      assert.deepEqual(local.details, error.details, what);
    }
    // The boundary is accepted, in code points, and the connection is still usable after errors.
    const ack = await within(client.chat.request.post({ text: "y".repeat(2000) }), WAIT, "2000 chars");
    assert.ok(Number.isInteger(ack.id));
    const emoji = await within(client.chat.request.post({ text: "😀".repeat(2000) }), WAIT, "2000 emoji");
    assert.ok(Number.isInteger(emoji.id));
    assert.equal(client.connection.state, "open");
    assert.deepEqual(unexpected, [], "errors answering requests reach only their promise");
    client.close();
  });

  test("an unknown type rejects with unknown_type listing the known types", T, async () => {
    const client = await open(uniqueRoom("unknown"));
    const error = await rejection(client.chat.channel.request("nope", {}), WAIT, "type nope");
    assertChgenError(M, error, { code: "unknown_type", stream: "chat" });
    assert.ok(Number.isInteger(error.id));
    assert.match(JSON.stringify(error.details), /post/, "details list the known types");
    const onEcho = await rejection(client.echo.channel.request("post", { text: "x" }), WAIT, "post on echo");
    assertChgenError(M, onEcho, { code: "unknown_type", stream: "echo" });
    assert.deepEqual(await within(client.echo.request.say({ text: "ok" }), WAIT, "say"), { text: "ok" });
    client.close();
  });

  test("no answer in time rejects with timeout; the late answer is dropped", T, async (t) => {
    // A proxy that holds the server's frames: a server that hangs, as the client sees it.
    const proxy = await startProxy(BASE);
    t.after(() => proxy.close());
    const room = uniqueRoom("timeout");
    const client = await open(room, {}, proxy.url);
    const quick = await open(room, { requestTimeout: 150 }, proxy.url);
    const unexpected = [];
    for (const c of [client, quick]) {
      c.connection.onError((error) => unexpected.push(error));
      c.echo.onError((error) => unexpected.push(error));
    }
    assert.deepEqual(await within(client.echo.request.say({ text: "warm" }), WAIT, "say"), { text: "warm" });

    proxy.freeze();
    let started = performance.now();
    const error = await rejection(client.echo.request.say({ text: "late" }, { timeout: 200 }), WAIT, "say");
    const waited = performance.now() - started;
    assertChgenError(M, error, { code: "timeout", stream: "echo" });
    assert.ok(Number.isInteger(error.id));
    assert.match(error.message, /200/);
    assert.ok(waited >= 180 && waited < 2_000, `rejected after ${waited} ms, asked for 200`);

    started = performance.now();
    const byDefault = await rejection(quick.chat.request.post({ text: "slow" }), WAIT, "post");
    assertChgenError(M, byDefault, { code: "timeout", stream: "chat" });
    assert.ok(performance.now() - started >= 130, "the requestTimeout option applies");

    proxy.thaw(); // the late answers arrive now, and are dropped
    assert.deepEqual(await within(client.echo.request.say({ text: "next" }), WAIT, "say"), { text: "next" });
    assert.ok(Number.isInteger((await within(quick.chat.request.post({ text: "next" }), WAIT, "post")).id));
    assert.equal(client.connection.state, "open");
    assert.deepEqual(unexpected, [], "late answers are dropped silently");
    for (const c of [client, quick]) c.close();
  });

  test("a request queued while connecting times out (queued time included) and is never sent", T, async (t) => {
    const proxy = await startProxy(BASE);
    t.after(() => proxy.close());
    const room = uniqueRoom("queued");
    const watcher = await open(room);
    const heard = collectPosted(watcher);
    proxy.freeze(); // the handshake's answer is held: the client stays connecting
    const client = connect(room, {}, proxy.url);
    const error = await rejection(client.chat.request.post({ text: "expired" }, { timeout: 200 }), WAIT, "post");
    assertChgenError(M, error, { code: "timeout", stream: "chat" });
    assert.equal(client.connection.state, "connecting");
    proxy.thaw();
    await whenState(client, "open", WAIT);
    const ack = await within(client.chat.request.post({ text: "fresh" }), WAIT, "post after open");
    await waitFor(() => heard.length >= 1, WAIT, "the watcher hears the fresh post");
    assert.deepEqual(heard, [{ id: ack.id, text: "fresh" }], "the expired request was not sent on open");
    for (const c of [client, watcher]) c.close();
  });

  test("after close(): state closed, requests reject and sends throw with closed", T, async () => {
    const client = await open(uniqueRoom("closed"));
    const states = [];
    client.connection.onState((state) => states.push(state));
    client.close();
    assert.deepEqual(states, ["closed"]);
    assertChgenError(M, await rejection(client.chat.request.post({ text: "x" }), WAIT, "post"), {
      code: "closed",
      stream: "chat",
    });
    assert.throws(() => client.echo.send.say({ text: "x" }), (e) => e instanceof M.ChgenError && e.code === "closed");
  });

});

// close() must leave nothing behind: each scenario runs in its own Node process, which must
// exit by itself, quickly, although the client was given 60 s timers. (Concurrently: a leak
// costs the 5 s bound once, not once per scenario.)
describe(`close() lets the process exit (${CLIENT})`, { concurrency: true }, () => {
  for (const scenario of ["idle", "pending", "connecting", "retrying", "reconnecting"]) {
    test(scenario, T, async () => {
      const started = performance.now();
      const { code, signal, stdout, stderr } = await new Promise((resolve) => {
        execFile(
          process.execPath,
          [path.join(HERE, "e2e_exit.mjs"), scenario],
          { env: process.env, timeout: 5_000, killSignal: "SIGKILL" },
          (error, stdout, stderr) => resolve({ code: error ? error.code : 0, signal: error?.signal ?? null, stdout, stderr }),
        );
      });
      const elapsed = Math.round(performance.now() - started);
      const output = `\n--- stdout\n${stdout}--- stderr\n${stderr}`;
      assert.equal(signal, null, `the process did not exit by itself within 5 s (killed)${output}`);
      assert.equal(code, 0, `exit code ${code}${output}`);
      assert.match(stdout, new RegExp(`"done":"${scenario}"`), output);
      assert.ok(elapsed < 4_000, `exited after ${elapsed} ms${output}`);
    });
  }
});
