// Compiled by tests/test_client_ts.py against the generated alltypes client: the types a
// frontend relies on, including an exhaustive switch that only compiles if it is complete.
import {
  ChgenError,
  EverythingSocket,
  HubClient,
  everythingUrl,
  hubUrl,
  type EverythingEvent,
  type Sample,
} from "./client.js";

const hub = new HubClient(hubUrl("ws://127.0.0.1:8000", { topic: "news" }));
const solo = new EverythingSocket(everythingUrl("ws://127.0.0.1:8000/", { topic: "a", part: "1" }));

function describe(event: EverythingEvent): string {
  switch (event.type) {
    case "happened":
      return event.data.text;
    case "new":
      return String(event.data.x + event.data.y);
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

const sample: Sample = {
  text: "hi",
  code: "ABC",
  count: 1,
  ratio: 0.5,
  level: 3,
  pair: [1, 2],
  flag: true,
  when: new Date(0).toISOString(),
  kind: 3,
  nothing: null,
  maybe: null,
  point: { x: 1, y: 2 },
  points: [],
  maybe_points: [null, { x: 0, y: 0 }],
  day: "2024-02-29",
  ident: "123e4567-e89b-12d3-a456-426614174000",
  price: "12.50",
  color: "\"*/",
  grade: 2,
  scores: { a: 1 },
  nested: { here: [{ x: 1, y: 2 }] },
  figure: { shape: "circle", radius: 1 },
  maybe_figure: null,
  figures: [{ shape: "square", side: 2 }],
};

function area(figure: Sample["figure"]): number {
  switch (figure.shape) {
    case "circle":
      return Math.PI * figure.radius ** 2;
    case "square":
      return figure.side ** 2;
    default: {
      const unreachable: never = figure;
      return unreachable;
    }
  }
}
void area;

async function main(): Promise<void> {
  hub.every.onAny((event) => console.log(describe(event)));
  const unsubscribe = hub.every.on.new((point) => console.log(point.x));
  unsubscribe();
  hub.every.send.fire({});
  const echoed: Sample = await hub.every.request.echo(sample, { timeout: 1000 });
  const nothing: null = await hub.every.request.fire({});
  const removed = await solo.request.delete({});
  await hub["odd-name.x"].request.ping({});
  console.log(echoed.note ?? "default", nothing, removed);
  try {
    await solo.request.echo(sample);
  } catch (error) {
    if (error instanceof ChgenError) {
      console.log(error.code, error.details.map((d) => d.path));
    }
  }
  hub.close();
  solo.close(1000, "done");
}

void main;
