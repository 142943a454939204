// Parse AsyncAPI documents with @asyncapi/parser, the reference parser, and print what it
// says of each as one JSON line: {"file", "errors": [...], "warnings": [...], "infos": [...]}.
// Usage: node tests/contracts/asyncapi_parse.mjs FILE...
// Exit code 0 when every document parsed without an error, 1 otherwise.

import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const SEVERITY = ["errors", "warnings", "infos", "hints"];
const parser = new Parser();
let failed = false;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"));
  const report = { file, parsed: document !== undefined, errors: [], warnings: [], infos: [], hints: [] };
  for (const d of diagnostics) {
    report[SEVERITY[d.severity]].push({ code: d.code, message: d.message, path: d.path.join(".") });
  }
  failed ||= report.errors.length > 0 || !report.parsed;
  console.log(JSON.stringify(report));
}
process.exit(failed ? 1 : 0);
