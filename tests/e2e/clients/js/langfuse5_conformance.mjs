// The Langfuse JS SDK 5.x (@langfuse/tracing + @langfuse/otel 5.11.1) against the server
// named by LANGFUSE_BASE_URL, with the keys in LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY.
//
//   node langfuse5_conformance.mjs PREFIX
//
// 1. A typed trace: `propagateAttributes({sessionId, userId})` inside an active agent root,
//    with one observation of each other type, a generation with model, usage, cost and
//    chat input/output, and an event.
// 2. LangChain through @langfuse/langchain 5.x (../js_shared/langchain_scenarios.mjs).
//
// Prints one JSON line: {"typed": {...}, "langchain": {...}}.
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { AIMessage } from "@langchain/core/messages";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { CallbackHandler } from "@langfuse/langchain";
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { propagateAttributes, startActiveObservation } from "@langfuse/tracing";
import { NodeSDK } from "@opentelemetry/sdk-node";

import { runLangchainScenarios } from "../js_shared/langchain_scenarios.mjs";

const [prefix] = process.argv.slice(2);
const QUESTION = "What is the capital of France?";
const ANSWER = "Paris.";
const USAGE = { input: 40, output: 3, total: 43 };
const COST = { input: 0.004, output: 0.0009, total: 0.0049 };
const CHILD_TYPES = ["tool", "chain", "retriever", "evaluator", "guardrail"];

function observeChildren(root) {
  const sent = {};
  for (const kind of CHILD_TYPES) {
    const name = `js5-${kind}`;
    root.startObservation(name, { input: { step: kind } }, { asType: kind }).update({ output: { done: kind } }).end();
    sent[name] = { type: kind.toUpperCase(), input: `"step":"${kind}"`, output: `"done":"${kind}"` };
  }
  return sent;
}

function observeModels(root) {
  const messages = [{ role: "system", content: "Answer briefly." }, { role: "user", content: QUESTION }];
  const generation = root.startObservation(
    "js5-generation",
    { model: "gpt-4o-mini", modelParameters: { temperature: 0.2 }, input: messages },
    { asType: "generation" },
  );
  generation.update({ output: { role: "assistant", content: ANSWER }, usageDetails: USAGE, costDetails: COST }).end();
  root
    .startObservation("js5-embedding", { model: "text-embedding-3-small", input: "capital", usageDetails: { input: 4 } }, { asType: "embedding" })
    .end();
  root.startObservation("js5-event", { input: { note: "an event" } }, { asType: "event" });
  return {
    "js5-generation": { type: "GENERATION", model: "gpt-4o-mini", usage: USAGE, cost: COST.total, input: QUESTION, output: ANSWER },
    "js5-embedding": { type: "EMBEDDING", model: "text-embedding-3-small", usage: { input: 4 }, input: "capital" },
    "js5-event": { type: "EVENT", input: "an event" },
  };
}

async function typedTrace() {
  const sessionId = `${prefix}-typed`;
  const userId = `${prefix}-user`;
  return startActiveObservation(
    "js5-agent",
    async (root) => {
      root.update({ input: { question: QUESTION } });
      const sent = await propagateAttributes({ sessionId, userId }, async () => ({
        ...observeChildren(root),
        ...observeModels(root),
      }));
      root.update({ output: { answer: ANSWER } });
      sent["js5-agent"] = { type: "AGENT", input: QUESTION, output: ANSWER };
      return { sessionId, userId, traceId: root.traceId, observations: sent };
    },
    { asType: "agent" },
  );
}

const sdk = new NodeSDK({ spanProcessors: [new LangfuseSpanProcessor()] });
sdk.start();
const typed = await typedTrace();
const lib = { CallbackHandler, FakeListChatModel, AIMessage, ChatPromptTemplate };
const langchain = await runLangchainScenarios(lib, `${prefix}-lc`);
await sdk.shutdown();
process.stdout.write(`${JSON.stringify({ typed, langchain })}\n`);
