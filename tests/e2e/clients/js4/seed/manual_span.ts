// The seed page's JS/TS snippet (manual span), byte for byte; do not edit.
// run_seed.mjs strips its type annotations with the TypeScript compiler and runs it.
import { startObservation } from "@langfuse/tracing";

const span = startObservation("manual-observation", {
  input: { query: "What is the capital of France?" },
});

// 为 Trace 设置 sessionId
span.updateTrace({
  sessionId: "session-123",
});

span.update({ output: "Paris" }).end();
