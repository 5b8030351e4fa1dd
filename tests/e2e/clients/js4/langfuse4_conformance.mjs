// The Langfuse JS SDK 4.x (@langfuse/tracing + @langfuse/otel 4.6.1, the last 4.x) against
// the server named by LANGFUSE_BASE_URL, with the keys in LANGFUSE_PUBLIC_KEY/SECRET_KEY.
//
//   node langfuse4_conformance.mjs PREFIX
//
// 1. The seed page's three JS/TS snippets (seed/*.ts), unchanged: their type annotations
//    are stripped by the TypeScript compiler and each runs as its own module, in an app
//    whose instrumentation (a NodeSDK with the LangfuseSpanProcessor) started first.
// 2. A typed trace: `updateActiveTrace({sessionId, userId})` in an active root, with a
//    generation (model, usage, cost, input/output) and a tool.
// 3. LangChain through @langfuse/langchain 4.x (../js_shared/langchain_scenarios.mjs).
//
// Prints one JSON line: {"typed": {...}, "langchain": {...}}.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { ChatPromptTemplate } from "@langchain/core/prompts";
import { AIMessage } from "@langchain/core/messages";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { CallbackHandler } from "@langfuse/langchain";
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { startActiveObservation, updateActiveTrace } from "@langfuse/tracing";
import { NodeSDK } from "@opentelemetry/sdk-node";
import ts from "typescript";

import { runLangchainScenarios } from "../js_shared/langchain_scenarios.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const [prefix] = process.argv.slice(2);
const USAGE = { input: 30, output: 12, total: 42 };
const COST = { input: 0.003, output: 0.0024, total: 0.0054 };

// Each seed snippet, compiled to JavaScript under this folder's node_modules (so its imports
// resolve there, and git ignores it) and imported, one after the other.
async function runSeedSnippets() {
  const build = mkdtempSync(join(here, "node_modules", ".seed-build-"));
  try {
    for (const file of readdirSync(join(here, "seed")).sort()) {
      const source = readFileSync(join(here, "seed", file), "utf8");
      const compiled = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      const target = join(build, file.replace(/\.ts$/, ".mjs"));
      writeFileSync(target, compiled.outputText);
      await import(pathToFileURL(target).href);
    }
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}

async function typedTrace() {
  const sessionId = `${prefix}-typed`;
  const userId = `${prefix}-user`;
  return startActiveObservation("js4-typed-root", async (root) => {
    root.update({ input: { question: "capital of France?" } });
    updateActiveTrace({ sessionId, userId });
    const generation = root.startObservation(
      "js4-generation",
      { model: "gpt-4o-mini", input: [{ role: "user", content: "capital of France?" }] },
      { asType: "generation" },
    );
    generation.update({ output: { role: "assistant", content: "Paris" }, usageDetails: USAGE, costDetails: COST }).end();
    const tool = root.startObservation("js4-tool", { input: { city: "Paris" } }, { asType: "tool" });
    tool.update({ output: { population: 2100000 } }).end();
    root.update({ output: "Paris" });
    return {
      sessionId,
      userId,
      traceId: root.traceId,
      observations: {
        "js4-typed-root": { type: "SPAN", input: "capital of France?", output: "Paris" },
        "js4-generation": { type: "GENERATION", model: "gpt-4o-mini", usage: USAGE, cost: COST.total, input: "capital of France?", output: "Paris" },
        "js4-tool": { type: "TOOL", input: "Paris", output: "2100000" },
      },
    };
  });
}

const sdk = new NodeSDK({ spanProcessors: [new LangfuseSpanProcessor()] });
sdk.start();
await runSeedSnippets();
const typed = await typedTrace();
const lib = { CallbackHandler, FakeListChatModel, AIMessage, ChatPromptTemplate };
const langchain = await runLangchainScenarios(lib, `${prefix}-lc`);
await sdk.shutdown();
process.stdout.write(`${JSON.stringify({ typed, langchain })}\n`);
