// A small tool-calling agent on the `openai` package for Node.
//
// It asks the model, runs the tool the model calls (a local "search"), sends the result back,
// and prints the answer. Point it at `aumai-chaos proxy` by its base URL; nothing else changes:
//
//   aumai-chaos proxy --experiment experiment.yaml --upstream https://api.openai.com &
//   OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 node agent.mjs "What is chaos engineering?"
//
// The SDK reads OPENAI_BASE_URL and OPENAI_API_KEY itself; its own retries (maxRetries) are
// what an experiment's rate limits and resets put to the test.
import OpenAI from "openai";

const client = new OpenAI({ maxRetries: Number(process.env.AGENT_MAX_RETRIES ?? 2) });
const model = process.env.AGENT_MODEL ?? "gpt-4o-mini";
const question = process.argv[2] ?? "What is chaos engineering?";

const tools = [
  {
    type: "function",
    function: {
      name: "search",
      description: "Search the knowledge base.",
      parameters: {
        type: "object",
        properties: { query: { type: "string" } },
        required: ["query"],
      },
    },
  },
];

function search({ query }) {
  return `3 documents about ${query}`;
}

async function main() {
  const messages = [{ role: "user", content: question }];
  for (let turn = 0; turn < 4; turn += 1) {
    const completion = await client.chat.completions.create({ model, messages, tools });
    const message = completion.choices[0].message;
    messages.push(message);
    if (!message.tool_calls?.length) {
      console.log(`answer: ${message.content}`);
      return;
    }
    for (const call of message.tool_calls) {
      let result;
      try {
        result = search(JSON.parse(call.function.arguments));
      } catch (err) {
        // A model can send arguments that are not JSON: tell it, as a robust agent does.
        result = `error: the arguments were not valid JSON (${err.message})`;
      }
      messages.push({ role: "tool", tool_call_id: call.id, content: result });
    }
  }
  console.log("answer: (no answer after 4 turns)");
}

main().catch((err) => {
  console.error(`agent failed: ${err.constructor.name}: ${err.message}`);
  process.exit(1);
});
