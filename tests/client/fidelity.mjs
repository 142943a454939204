// The JavaScript side of the fidelity suite (tests/test_fidelity.py): one process, JSONL in
// and out, driving a generated client over a fake socket exactly as a server would.
//
//   node tests/client/fidelity.mjs path/to/client.js   < jobs.jsonl > results.jsonl
//
// Each input line is one job; each gets one output line with the same `n`:
// - {"n", "frame", "message"}: the server's event frame (its exact text) arrives; the client
//   reads it with checkIncoming on, hands the event's data to a listener, and the listener
//   sends it back as `message`, which the client checks before sending. Out: {"n", "sent"}
//   (the text of the frame the client sent), or {"n", "error", "stage"}.
// - {"n", "data", "message"}: `data` (JSON text) is sent as `message`. Out: {"n", "ok",
//   "wire"} where `wire` is the frame JSON.stringify makes of it (what the server would
//   read, had the client not refused it), and the client's error when it refused.

import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const client = await import(pathToFileURL(process.argv[2]).href);

let socket = null;
class FakeSocket {
  constructor() {
    socket = this;
    this.readyState = 0;
    this.sent = [];
    this.onopen = this.onclose = this.onmessage = this.onerror = null;
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }
  send(text) {
    this.sent.push(text);
  }
  close() {}
}

const fidelity = new client.FidelitySocket("ws://fidelity.test/fidelity/", {
  WebSocket: FakeSocket,
  checkIncoming: true,
  reconnect: false,
});
await new Promise((resolve) => setTimeout(resolve, 0)); // open

const events = [];
const errors = [];
fidelity.onAny((event) => events.push(event));
fidelity.onError((error) => errors.push(error));
fidelity.connection.onError((error) => errors.push(error));

const described = (e) => ({ code: e.code, message: e.message, details: e.details });

function roundTrip({ frame, message }) {
  events.length = errors.length = socket.sent.length = 0;
  socket.onmessage({ data: frame });
  if (errors.length) return { error: described(errors[0]), stage: "incoming" };
  if (events.length !== 1) return { error: { code: "lost", message: `${events.length} events` }, stage: "incoming" };
  try {
    fidelity.send[message](events[0].data);
  } catch (e) {
    return { error: described(e), stage: "outgoing" };
  }
  return { sent: socket.sent[0] };
}

function check({ data, message }) {
  socket.sent.length = 0;
  const value = JSON.parse(data);
  const wire = JSON.stringify({ type: message, data: value });
  try {
    fidelity.send[message](value);
  } catch (e) {
    return { ok: false, wire, error: described(e) };
  }
  return { ok: true, wire: socket.sent[0] };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line) continue;
  const job = JSON.parse(line);
  const result = "frame" in job ? roundTrip(job) : check(job);
  process.stdout.write(JSON.stringify({ n: job.n, ...result }) + "\n");
}
