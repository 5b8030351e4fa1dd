// LangChain runs through `@langfuse/langchain`'s CallbackHandler, shared by the JS 4.x
// (`js4/`) and 5.x (`js/`) clients. It imports nothing itself: each client passes in the
// classes from its own node_modules, so the same scenarios run on both SDK versions.
//
// The chat model is `@langchain/core`'s FakeListChatModel (no network), answering with a
// message that carries usage and a model name, as a real provider's would.

const ANSWER = "Paris is the capital of France.";
const QUESTION = "What is the capital of France?";
const MODEL = "fake-gpt-4o";

function usage(index) {
  return { input_tokens: 20 + index, output_tokens: 5 + index, total_tokens: 25 + 2 * index };
}

function fakeModel(lib, index) {
  class UsageReportingFakeModel extends lib.FakeListChatModel {
    _formatGeneration(text) {
      const message = new lib.AIMessage({
        content: text,
        usage_metadata: usage(index),
        response_metadata: { model_name: MODEL },
      });
      return { message, text };
    }
  }
  return new UsageReportingFakeModel({ responses: [ANSWER] });
}

// Each scenario: how the session id is given, and whether the run is a chain or a direct
// chat-model call. `lost` marks the case where the SDK sends no session id at all.
const SCENARIOS = [
  { key: "chain-camel", chain: true, metadata: (s, u) => ({ langfuseSessionId: s, langfuseUserId: u }) },
  { key: "chain-constructor", chain: true, handler: (s, u) => ({ sessionId: s, userId: u }) },
  { key: "chain-snake", chain: true, metadata: (s, u) => ({ langfuse_session_id: s, langfuse_user_id: u }) },
  { key: "direct-snake", chain: false, metadata: (s, u) => ({ langfuse_session_id: s, langfuse_user_id: u }) },
  { key: "direct-constructor", chain: false, handler: (s, u) => ({ sessionId: s, userId: u }), lost: true },
];

async function runScenario(lib, scenario, index, prefix) {
  const sessionId = `${prefix}-${scenario.key}`;
  const userId = `${prefix}-user`;
  const handler = new lib.CallbackHandler(scenario.handler ? scenario.handler(sessionId, userId) : {});
  const config = { callbacks: [handler], metadata: scenario.metadata ? scenario.metadata(sessionId, userId) : {} };
  const model = fakeModel(lib, index);
  if (scenario.chain) {
    const prompt = lib.ChatPromptTemplate.fromMessages([["human", "What is the capital of {country}?"]]);
    await prompt.pipe(model).invoke({ country: "France" }, config);
  } else {
    await model.invoke(QUESTION, config);
  }
  const used = usage(index);
  return {
    sessionId,
    userId,
    traceId: handler.last_trace_id,
    lost: Boolean(scenario.lost),
    generation: {
      model: MODEL,
      usage: { input: used.input_tokens, output: used.output_tokens, total: used.total_tokens },
      input: QUESTION,
      output: ANSWER,
    },
  };
}

// Run every scenario in order; returns {scenarioKey: {sessionId, userId, traceId, lost, generation}}.
export async function runLangchainScenarios(lib, prefix) {
  const runs = {};
  for (const [index, scenario] of SCENARIOS.entries()) {
    runs[scenario.key] = await runScenario(lib, scenario, index, prefix);
  }
  return runs;
}
