// One call of the real `openai` package for Node, as a test asks for it; prints one JSON line.
// usage: node probe.mjs SCENARIO BASE_URL MAX_RETRIES
//   chat         a chat completion
//   stream       a streamed chat completion, counting the chunks that arrived
//   tool         a chat completion whose tool call arguments are parsed with JSON.parse
//   tool-stream  the same, streamed: the argument fragments joined, then parsed
import OpenAI from "openai";

const [scenario, baseURL, maxRetries] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "test", maxRetries: Number(maxRetries), timeout: 10000 });
const request = { model: "gpt-4o", messages: [{ role: "user", content: "one two three four five six" }] };

function describe(err) {
  const cause = err?.cause;
  return {
    error: err?.constructor?.name ?? String(err),
    status: err?.status ?? null,
    isRateLimit: err instanceof OpenAI.RateLimitError,
    isConnection: err instanceof OpenAI.APIConnectionError,
    message: String(err?.message ?? err),
    cause: cause ? { name: cause.constructor?.name, message: String(cause.message), code: cause.code ?? null } : null,
  };
}

function parses(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const out = { scenario };
try {
  if (scenario === "chat") {
    const completion = await client.chat.completions.create(request);
    out.content = completion.choices[0].message.content;
  } else if (scenario === "stream") {
    out.chunks = 0;
    const stream = await client.chat.completions.create({ ...request, stream: true });
    for await (const chunk of stream) {
      if (chunk.choices?.length) out.chunks += 1;
    }
  } else if (scenario === "tool" || scenario === "tool-stream") {
    const tools = [{ type: "function", function: { name: "search", parameters: { type: "object" } } }];
    let args = "";
    if (scenario === "tool") {
      const completion = await client.chat.completions.create({ ...request, tools });
      args = completion.choices[0].message.tool_calls[0].function.arguments;
    } else {
      const stream = await client.chat.completions.create({ ...request, tools, stream: true });
      for await (const chunk of stream) {
        for (const call of chunk.choices?.[0]?.delta?.tool_calls ?? []) args += call.function?.arguments ?? "";
      }
    }
    out.arguments = args;
    out.parses = parses(args);
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  out.ok = true;
} catch (err) {
  out.ok = false;
  Object.assign(out, describe(err));
}
console.log(JSON.stringify(out));
