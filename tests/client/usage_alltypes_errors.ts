// Each line marked "error" must NOT compile: tests/test_client_ts.py checks that tsc
// reports exactly these lines, proving the generated types are strict, not `any`.
import { HubClient, type EverythingEvent, type Sample } from "./client.js";

declare const hub: HubClient;
declare const sample: Sample;

hub.every.send.echo({ ...sample, text: 5 }); // error: wrong field type
hub.every.send.echo({ text: "x" }); // error: missing fields
hub.every.send.nope({}); // error: unknown message type
hub.every.on.happened((data) => data.missing); // error: unknown property
const ratio: string = sample.ratio; // error: number is not string
function incomplete(event: EverythingEvent): string {
  switch (event.type) {
    case "happened":
      return "h";
    default: {
      const unreachable: never = event; // error: "new" is not handled
      return unreachable;
    }
  }
}
void ratio;
void incomplete;
