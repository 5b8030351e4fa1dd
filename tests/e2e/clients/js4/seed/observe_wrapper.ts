// The seed page's JS/TS snippet (observe wrapper), byte for byte; do not edit.
// run_seed.mjs strips its type annotations with the TypeScript compiler and runs it.
import { observe, updateActiveTrace } from "@langfuse/tracing";

// 原始函数
async function fetchData(source: string) {
  // 为 Trace 设置 sessionId
  updateActiveTrace({
    sessionId: "session-123",
  });

  // ... 获取数据逻辑 ...
  return { data: `some data from ${source}` };
}

// 使用 observe 进行追踪
const tracedFetchData = observe(fetchData, {
  name: "observe-wrapper",
});

const result = await tracedFetchData("API");
