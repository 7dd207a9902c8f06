// Runs shipped scenarios in the simulation built for wasm32 (web/check.sh builds it) and prints
// one line per run: `NAME SEED HASH EVENTS`. With no names, every shipped scenario.
//   node web/trace-check/run.mjs [--pkg DIR] [NAME[@SEED]]...
import { createRequire } from "node:module";
import path from "node:path";

Error.stackTraceLimit = 60;
const args = process.argv.slice(2);
let pkg = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../target/web/trace-check");
if (args[0] === "--pkg") {
  pkg = path.resolve(args[1]);
  args.splice(0, 2);
}
const require = createRequire(import.meta.url);
const check = require(path.join(pkg, "kafkascope_trace_check.js"));

const runs = args.length ? args : check.scenario_names().split("\n");
let failed = false;
for (const run of runs) {
  const [name, seed] = run.split("@");
  try {
    console.log(check.trace_hash(name, seed === undefined ? undefined : BigInt(seed)));
  } catch (e) {
    console.error(`${name}: ${e}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
