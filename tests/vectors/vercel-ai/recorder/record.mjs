// Records what the Vercel AI SDK's telemetry exports, for Skein's replay tests.
//
//   cd tests/vectors/vercel-ai/recorder && npm ci && node record.mjs
//
// Runs `generateText` of the `ai` package, 5.x (MockLanguageModelV2) and 6.x
// (MockLanguageModelV3) from `ai/test`, so no network and no provider, with
// `experimental_telemetry: {isEnabled: true, metadata: {sessionId, userId, ...}}`, in an
// OpenTelemetry NodeSDK whose OTLP/HTTP (JSON) exporter posts to a capture server on
// 127.0.0.1 that this script runs. Writes ../ai5.json and ../ai6.json: each request body
// exactly as received (`requests[].json`) with its content type, and `expected`: what the
// script fed the mock model (session, user, model, per-step usage, texts).
import { createServer } from "node:http";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { context, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import * as ai5 from "ai5";
import * as ai5test from "ai5/test";
import * as ai6 from "ai6";
import * as ai6test from "ai6/test";
import { z } from "zod";

const here = dirname(fileURLToPath(import.meta.url));
const MODEL = "gpt-4o-mini";
const SYSTEM = "You answer questions about capitals.";
const QUESTION = "What is the capital of France?";
const ANSWER = "The capital of France is Paris.";
const WEATHER_ANSWER = "It is sunny in Paris.";
// [input tokens (cached ones included), output tokens, cached input tokens] of each step.
const STEPS = { text: [[21, 7, 6]], tools: [[33, 12, 0], [48, 9, 0]] };

// The capture server: keeps every POST body as text, answers as an OTLP server does.
function startCapture() {
  const requests = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({ path: request.url, contentType: request.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, requests })));
}

// Mock results in each specification's shape.
const SPECS = {
  v2: {
    usage: ([input, output, cached]) => ({
      inputTokens: input,
      outputTokens: output,
      totalTokens: input + output,
      cachedInputTokens: cached || undefined,
    }),
    finish: (reason) => reason,
  },
  v3: {
    usage: ([input, output, cached]) => ({
      inputTokens: { total: input, noCache: input - cached, cacheRead: cached || undefined, cacheWrite: undefined },
      outputTokens: { total: output, text: output, reasoning: undefined },
    }),
    finish: (reason) => ({ unified: reason, raw: reason }),
  },
};

function result(spec, content, reason, tokens) {
  return { content, finishReason: spec.finish(reason), usage: spec.usage(tokens), warnings: [] };
}

function textModel(MockModel, spec) {
  return new MockModel({
    provider: "openai.chat",
    modelId: MODEL,
    doGenerate: [result(spec, [{ type: "text", text: ANSWER }], "stop", STEPS.text[0])],
  });
}

function toolModel(MockModel, spec) {
  const call = { type: "tool-call", toolCallId: "call-1", toolName: "weather", input: JSON.stringify({ city: "Paris" }) };
  return new MockModel({
    provider: "openai.chat",
    modelId: MODEL,
    doGenerate: [
      result(spec, [call], "tool-calls", STEPS.tools[0]),
      result(spec, [{ type: "text", text: WEATHER_ANSWER }], "stop", STEPS.tools[1]),
    ],
  });
}

async function runVersion(lib, MockModel, spec, sessionId, userId) {
  const telemetry = (functionId) => ({
    isEnabled: true,
    functionId,
    metadata: { sessionId, userId, tenant: "acme" },
  });
  await lib.generateText({ model: textModel(MockModel, spec), system: SYSTEM, prompt: QUESTION, experimental_telemetry: telemetry("capital-quiz") });
  const weather = lib.tool({
    description: "The weather in a city",
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, sky: "sunny" }),
  });
  await lib.generateText({
    model: toolModel(MockModel, spec),
    prompt: "How is the weather in Paris?",
    tools: { weather },
    stopWhen: lib.stepCountIs(2),
    experimental_telemetry: telemetry("weather-chat"),
  });
}

async function record(name, lib, MockModel, spec, version) {
  const { server, requests } = await startCapture();
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${server.address().port}/v1/traces` });
  const sdk = new NodeSDK({
    traceExporter: exporter,
    autoDetectResources: false,
    resource: resourceFromAttributes({ "service.name": "skein-vercel-ai-recorder" }),
  });
  sdk.start();
  const sessionId = `vercel-${name}-session`;
  const userId = `vercel-${name}-user`;
  await runVersion(lib, MockModel, spec, sessionId, userId);
  await sdk.shutdown();
  // Let the next version's SDK register its own global providers.
  trace.disable();
  context.disable();
  propagation.disable();
  server.close();
  const usage = (steps) => steps.map(([input, output, cached]) => ({ input, output, cached }));
  const vector = {
    about: `OTLP/JSON exported by the Vercel AI SDK (ai ${version}, ${MockModel.name}) telemetry; recorded by recorder/record.mjs`,
    recordedWith: { ai: version, "@opentelemetry/sdk-node": "0.223.0", "@opentelemetry/exporter-trace-otlp-http": "0.223.1" },
    expected: {
      sessionId,
      userId,
      model: MODEL,
      functions: { "capital-quiz": { steps: usage(STEPS.text), input: QUESTION, output: ANSWER }, "weather-chat": { steps: usage(STEPS.tools), input: "weather in Paris", output: WEATHER_ANSWER, tool: "weather" } },
      metadata: { tenant: "acme" },
      // ai 5.x's generateText telemetry leaves the cached input tokens out; 6.x sends them.
      sendsCachedInput: name !== "ai5",
    },
    requests: requests.map(({ path, contentType, body }) => ({ path, headers: { "content-type": contentType }, bodyFormat: "json", json: JSON.parse(body) })),
  };
  writeFileSync(join(here, "..", `${name}.json`), `${JSON.stringify(vector, null, 1)}\n`);
  return requests.length;
}

const counts = {
  ai5: await record("ai5", ai5, ai5test.MockLanguageModelV2, SPECS.v2, "5.0.277"),
  ai6: await record("ai6", ai6, ai6test.MockLanguageModelV3, SPECS.v3, "6.0.322"),
};
process.stdout.write(`${JSON.stringify({ requests: counts })}\n`);
