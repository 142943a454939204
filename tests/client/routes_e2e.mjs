// End to end: the client of a route with its own message set (tests/fixtures/routes), in
// Node against the real server. Each route's socket class sends that route's messages only.
//
// Environment, set by tests/test_route_mappings.py: CHGEN_URL (ws://127.0.0.1:PORT) and
// CHGEN_CLIENT (the generated client.js of the fixture app). Every wait is bounded.

import assert from "node:assert/strict";
import { env, loadClient, within, WebSocket } from "./e2e_util.mjs";

const M = await loadClient();
const base = env("CHGEN_URL");

async function using(socket, body) {
  try {
    await body(socket);
  } finally {
    socket.close();
  }
}

// Channels 1.x's test_as_route_method: "mychannel" answers with the route's attribute.
await using(new M.TriggeredRoute1Socket(`${base}/trigger/`, { WebSocket }), async (socket) => {
  const reply = await within(socket.request.mychannel({}), 5000, "mychannel reply");
  assert.deepEqual(reply, { trigger: "from_as_route" });
});

await using(new M.TalkRoute5Socket(`${base}/loud/`, { WebSocket }), async (socket) => {
  assert.deepEqual(await within(socket.request.say({ text: "hi" }), 5000, "say"), { text: "HI" });
  assert.deepEqual(await within(socket.request.echo({ text: "hi" }), 5000, "echo"), {
    text: "echo hi",
  });
  assert.equal(socket.request.shout, undefined, "the route's set replaces the consumer's");
});

await using(new M.TalkRoute4Socket(`${base}/whisper/`, { WebSocket }), async (socket) => {
  const said = new Promise((resolve) => socket.on.said(resolve));
  assert.deepEqual(await within(socket.request.whisper({ text: "psst" }), 5000, "whisper"), {
    text: "psst",
  });
  assert.deepEqual(await within(said, 5000, "the consumer's event"), { text: "psst" });
  assert.equal(socket.request.say, undefined);
});

console.log("routes_e2e: ok");
