// The generated client's own checks, through its public API (run by tests/test_fidelity.py
// with CHGEN_CLIENT set to the fidelity fixture's generated client.js). What each check
// accepts, refuses and says is compared value by value with the server in test_fidelity.py;
// this file covers what the client does with a refusal.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";

const M = await import(pathToFileURL(process.env.CHGEN_CLIENT).href);

function open(options = {}) {
  const sockets = [];
  class FakeSocket {
    constructor() {
      sockets.push(this);
      this.readyState = 0;
      this.sent = [];
      queueMicrotask(() => {
        this.readyState = 1;
        this.onopen?.({});
      });
    }
    send(text) {
      this.sent.push(text);
    }
    close() {}
    receive(frame) {
      this.onmessage({ data: JSON.stringify(frame) });
    }
  }
  const client = new M.FidelitySocket("ws://test/fidelity/", { WebSocket: FakeSocket, reconnect: false, ...options });
  return { client, sockets, ready: new Promise((resolve) => setTimeout(resolve, 0)) };
}

const point = { x: 1, y: 2 };

describe("outgoing messages", () => {
  test("a send that does not fit throws the server's invalid error and sends nothing", async () => {
    const { client, sockets, ready } = open();
    await ready;
    assert.throws(
      () => client.send.echo_point({ x: "1", y: 2, z: 3 }),
      (e) =>
        e instanceof M.ChgenError &&
        e.code === "invalid" &&
        e.message === "invalid Point payload" &&
        e.stream === null &&
        JSON.stringify(e.details) ===
          JSON.stringify([
            { path: "$.data.x", message: "expected a number, got a string" },
            { path: "$.data.z", message: "unexpected field" },
          ]),
    );
    assert.deepEqual(sockets[0].sent, []);
    client.close();
  });

  test("a request that does not fit rejects at once, before any round trip", async () => {
    const { client, sockets, ready } = open();
    await ready;
    await assert.rejects(client.request.echo_point({ x: 1 }), (e) => e.code === "invalid" && e.details[0].path === "$.data.y");
    await assert.rejects(client.request.echo_point(undefined), (e) => e.details.length === 2);
    assert.deepEqual(sockets[0].sent, []);
    client.close();
  });

  test("a message that fits goes out unchanged, also while the socket opens", async () => {
    const { client, sockets, ready } = open();
    client.send.echo_point(point); // queued: checked all the same
    await ready;
    client.send.echo_point({ x: -0, y: 1e-7 });
    assert.deepEqual(sockets[0].sent.map((t) => JSON.parse(t).data), [point, { x: 0, y: 1e-7 }]);
    client.close();
  });

  test("a string that is not well-formed Unicode is refused, typed or not", async () => {
    const { client, sockets, ready } = open();
    await ready;
    const text = { ...BASE_SCALARS, text: "a\ud800" };
    assert.throws(
      () => client.send.echo_scalars(text),
      (e) => e.code === "invalid" && e.details[0].path === "$.data.text" && /lone surrogate/.test(e.details[0].message),
    );
    assert.throws(() => client.channel.send("anything", { key: "\udc00" }), (e) => e.code === "invalid");
    client.channel.send("anything", { key: "\\ud800 is text, and 😀 a pair" });
    assert.equal(sockets[0].sent.length, 1);
    client.close();
  });

  test("data that is no object is left to the server, which answers bad_frame", async () => {
    const { client, sockets, ready } = open();
    await ready;
    client.send.echo_point(null);
    assert.equal(JSON.parse(sockets[0].sent[0]).data, null);
    client.close();
  });
});

describe("incoming data, with checkIncoming", () => {
  test("an event that does not fit reaches onError as bad_response, not the handlers", async () => {
    const { client, sockets, ready } = open({ checkIncoming: true });
    await ready;
    const seen = [];
    const errors = [];
    client.on.got_point((data) => seen.push(data));
    client.onError((e) => errors.push(e));
    sockets[0].receive({ type: "got_point", data: { x: 1 } });
    sockets[0].receive({ type: "got_point", data: point });
    assert.deepEqual(seen, [point]);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, "bad_response");
    assert.deepEqual(errors[0].details, [{ path: "$.data.y", message: "required field missing" }]);
    client.close();
  });

  test("a reply that does not fit rejects its request with bad_response and its id", async () => {
    const { client, sockets, ready } = open({ checkIncoming: true });
    await ready;
    const answer = client.request.echo_point(point);
    const { id } = JSON.parse(sockets[0].sent[0]);
    sockets[0].receive({ type: "echo_point", id, data: { x: 1, y: "2" } });
    await assert.rejects(answer, (e) => e.code === "bad_response" && e.id === id && e.details[0].path === "$.data.y");
    client.close();
  });

  test("without it, the data reaches the handler as it came", async () => {
    const { client, sockets, ready } = open({ checkIncoming: false });
    await ready;
    const seen = [];
    client.on.got_point((data) => seen.push(data));
    sockets[0].receive({ type: "got_point", data: { x: 1 } });
    assert.deepEqual(seen, [{ x: 1 }]);
    client.close();
  });

  test("it is on by default unless NODE_ENV is production", async () => {
    const saved = process.env.NODE_ENV;
    try {
      for (const [env, checked] of [[undefined, true], ["development", true], ["production", false]]) {
        if (env === undefined) delete process.env.NODE_ENV;
        else process.env.NODE_ENV = env;
        const { client, sockets, ready } = open();
        await ready;
        const seen = [];
        client.on.got_point((data) => seen.push(data));
        client.onError(() => {});
        sockets[0].receive({ type: "got_point", data: { x: 1 } });
        assert.equal(seen.length === 0, checked, `NODE_ENV=${env}`);
        client.close();
      }
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    }
  });
});

const BASE_SCALARS = {
  text: "t",
  short: "s",
  code: "ab1",
  line: "x",
  word: "w",
  count: 0,
  bounded: 0,
  open_int: 5,
  ratio: 0.5,
  unit: 0.5,
  tiny: 1,
  flag: true,
  nothing: null,
};
