// Driven by tests/test_client_e2e.py, which owns the server: the generated chat client
// across a server crash and a graceful restart on the same port.
//
// Protocol: this script prints one JSON object per line on stdout ({"step": ...}); the test
// answers on stdin, one word per line, after acting on the server:
//
//   -> ready             connected, a request answered
//   <- frozen            the server is stopped (SIGSTOP): it reads nothing, answers nothing
//   -> sent              requests are in flight on the open socket
//                        (the test kills the server: SIGKILL)
//   -> disconnected      the in-flight requests rejected with `disconnected`, state reconnecting
//   -> queued            requests made while down wait in the queue through failed reconnects
//                        (the test restarts the server on the same port)
//   -> reconnected       state open again; the queued requests and send were delivered
//   -> after             a new request succeeds
//   <- stopped           the test stopped the server gracefully (SIGTERM)
//   -> queued-again      state reconnecting; a request made while down is queued
//                        (the test restarts the server again)
//   -> done              the queued request succeeded; the states seen; client closed
//
// Environment: CHGEN_URL, CHGEN_CLIENT. Every wait is bounded; on failure the stack goes to
// stderr and the exit code is 1. The process exits by itself after close().

import assert from "node:assert/strict";
import readline from "node:readline";
import {
  assertChgenError,
  countingWebSocket,
  env,
  loadClient,
  rejection,
  uniqueRoom,
  waitFor,
  whenState,
  within,
} from "./e2e_util.mjs";

const M = await loadClient();
const WAIT = 15_000;
const step = (name, fields = {}) => console.log(JSON.stringify({ step: name, ...fields }));

const input = readline.createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
async function command(expected) {
  const { value, done } = await within(lines.next(), WAIT, `the command ${expected} on stdin`);
  assert.ok(!done, `stdin closed while waiting for ${expected}`);
  assert.equal(value.trim(), expected);
}

/** Watches a promise without awaiting it. */
function track(promise) {
  const status = { state: "pending" };
  promise.then(
    (value) => Object.assign(status, { state: "resolved", value }),
    (error) => Object.assign(status, { state: "rejected", error }),
  );
  return status;
}

const { Counting, created } = countingWebSocket();
const client = new M.LobbyClient(M.lobbyUrl(env("CHGEN_URL"), { room: uniqueRoom("restart") }), {
  WebSocket: Counting,
  reconnect: { initialDelay: 100, maxDelay: 1000 },
  requestTimeout: 20_000,
});
const states = [];
client.connection.onState((state) => states.push(state));
const posted = [];
client.chat.on.posted((data) => posted.push(data.text));

try {
  await whenState(client, "open", WAIT);
  const first = await within(client.chat.request.post({ text: "before" }), WAIT, "the first post");
  step("ready", { id: first.id });

  // Crash: requests in flight when the socket drops reject with `disconnected`.
  await command("frozen");
  const inFlight = [
    client.chat.request.post({ text: "in flight" }),
    client.echo.request.say({ text: "in flight" }),
  ];
  step("sent");
  const [chatError, echoError] = await Promise.all(
    inFlight.map((request) => rejection(request, WAIT, "a request in flight when the server died")),
  );
  assertChgenError(M, chatError, { code: "disconnected", stream: "chat" });
  assertChgenError(M, echoError, { code: "disconnected", stream: "echo" });
  await whenState(client, "reconnecting", WAIT);
  step("disconnected", { codes: [chatError.code, echoError.code], state: client.connection.state });

  // While down: requests and sends wait in the queue, through failed reconnect attempts.
  const attempts = created.length;
  const queued = track(client.chat.request.post({ text: "while down" }));
  const queuedSay = track(client.echo.request.say({ text: "while down" }));
  client.chat.send.post({ text: "sent while down" });
  await waitFor(() => created.length >= attempts + 2, WAIT, "two reconnect attempts while the server is down");
  assert.equal(queued.state, "pending", `a queued request stays queued: ${queued.error}`);
  assert.equal(queuedSay.state, "pending", `a queued request stays queued: ${queuedSay.error}`);
  assert.equal(client.connection.state, "reconnecting", "failed reconnect attempts stay reconnecting");
  step("queued", { attempts: created.length - attempts });

  // The server is back on the same port: the client reconnects and flushes the queue.
  await whenState(client, "open", WAIT);
  await waitFor(() => queued.state !== "pending" && queuedSay.state !== "pending", WAIT, "the queued requests' answers");
  assert.equal(queued.state, "resolved", `the queued post: ${queued.error?.stack}`);
  assert.ok(Number.isInteger(queued.value.id), JSON.stringify(queued.value));
  assert.deepEqual(queuedSay, { state: "resolved", value: { text: "while down" } });
  await waitFor(() => posted.includes("sent while down"), WAIT, "the queued send's broadcast");
  // Frames go out in the order they were queued; nothing from before the crash is replayed.
  assert.deepEqual(posted, ["before", "while down", "sent while down"]);
  step("reconnected", { id: queued.value.id });

  const after = await within(client.chat.request.post({ text: "after restart" }), WAIT, "a post after reconnecting");
  assert.ok(Number.isInteger(after.id));
  step("after", { id: after.id });

  // Graceful stop: the server closes the socket; the client reconnects again.
  await command("stopped");
  await whenState(client, "reconnecting", WAIT);
  const sockets = created.length;
  const again = track(client.echo.request.say({ text: "again" }));
  await waitFor(() => created.length >= sockets + 1, WAIT, "a reconnect attempt while stopped");
  assert.equal(again.state, "pending", `queued while stopped: ${again.error}`);
  step("queued-again");
  await waitFor(() => again.state !== "pending", WAIT, "the answer to the request queued while stopped");
  assert.deepEqual(again, { state: "resolved", value: { text: "again" } });
  assert.deepEqual(states, ["open", "reconnecting", "open", "reconnecting", "open"]);
  client.close();
  step("done", { states, sockets: created.length });
} finally {
  client.close();
  input.close();
}
