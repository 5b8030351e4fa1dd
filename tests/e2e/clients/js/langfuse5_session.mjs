// The Langfuse JS SDK 5.x (@langfuse/tracing + @langfuse/otel in a NodeSDK) sending three
// traces of one session to the server named by LANGFUSE_BASE_URL, with the keys in
// LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY.
//
//   node langfuse5_session.mjs SESSION_ID USER_ID
//
// Prints one JSON object on stdout: {"traces": {traceId: [observation names]},
// "usage": {"input": n, "output": n, "total": n}, "cost": total}.
import { LangfuseSpanProcessor } from "@langfuse/otel";
import {
  observe,
  propagateAttributes,
  startActiveObservation,
  startObservation,
} from "@langfuse/tracing";
import { NodeSDK } from "@opentelemetry/sdk-node";

const [sessionId, userId] = process.argv.slice(2);
const GENERATIONS = [
  { usage: { input: 12, output: 30, total: 42 }, cost: { input: 0.0012, output: 0.006, total: 0.0072 } },
  { usage: { input: 5, output: 8, total: 13 }, cost: { input: 0.0005, output: 0.0016, total: 0.0021 } },
];

function generate(parent, name, spec) {
  const generation = parent.startObservation(
    name,
    { model: "gpt-4o-mini", input: "question", usageDetails: spec.usage, costDetails: spec.cost },
    { asType: "generation" },
  );
  generation.update({ output: "answer" }).end();
}

// Propagation entered inside the active root: the root and the generation carry the session.
async function activeRootTrace() {
  return startActiveObservation("js-active-root", async (root) => {
    await propagateAttributes({ sessionId, userId }, async () => {
      generate(root, "js-active-generation", GENERATIONS[0]);
    });
    return { traceId: root.traceId, names: ["js-active-root", "js-active-generation"] };
  });
}

// An observe()-wrapped function that propagates to a child it starts.
async function observedTrace() {
  const traced = observe(
    async () =>
      propagateAttributes({ sessionId, userId }, async () => {
        const child = startObservation("js-observed-child");
        child.update({ output: "done" }).end();
        return child.traceId;
      }),
    { name: "js-observed-root" },
  );
  return { traceId: await traced(), names: ["js-observed-root", "js-observed-child"] };
}

// A manually started root is not active, so only the child gets the session id.
function manualRootTrace() {
  const root = startObservation("js-manual-root", { input: "manual" });
  propagateAttributes({ sessionId, userId }, () => {
    generate(root, "js-manual-generation", GENERATIONS[1]);
  });
  root.update({ output: "manual done" }).end();
  return { traceId: root.traceId, names: ["js-manual-root", "js-manual-generation"] };
}

function sum(key) {
  return GENERATIONS.reduce((total, spec) => total + spec.usage[key], 0);
}

const sdk = new NodeSDK({ spanProcessors: [new LangfuseSpanProcessor()] });
sdk.start();
const made = [await activeRootTrace(), await observedTrace(), manualRootTrace()];
await sdk.shutdown();
const traces = Object.fromEntries(made.map(({ traceId, names }) => [traceId, names]));
const cost = GENERATIONS.reduce((total, spec) => total + spec.cost.total, 0);
const usage = { input: sum("input"), output: sum("output"), total: sum("total") };
process.stdout.write(`${JSON.stringify({ traces, usage, cost })}\n`);
