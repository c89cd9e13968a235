// Runs the official openai SDK against a running golem server.
//
//   GOLEM_BASE_URL=http://127.0.0.1:8080/v1 GOLEM_API_KEY=… node --test clienttest/
//
// The Go test server/clienttest_test.go starts `golem serve` on the embedded model and runs
// this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.env.GOLEM_BASE_URL;
if (!baseURL) {
  throw new Error('set GOLEM_BASE_URL (e.g. http://127.0.0.1:8080/v1)');
}
const apiKey = process.env.GOLEM_API_KEY || 'none';
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

async function modelName() {
  const page = await client.models.list();
  assert.ok(page.data.length >= 1, 'no models listed');
  return page.data[0].id;
}

test('models', async () => {
  const page = await client.models.list();
  assert.equal(page.data.length, 1);
  assert.equal(page.data[0].object, 'model');
  const one = await client.models.retrieve(page.data[0].id);
  assert.equal(one.id, page.data[0].id);
});

test('chat, plain and streamed, agree for greedy decoding', async () => {
  const model = await modelName();
  const messages = [
    { role: 'system', content: 'You tell short stories.' },
    { role: 'user', content: 'Once upon a time' },
  ];
  const plain = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 24 });
  assert.equal(plain.object, 'chat.completion');
  assert.equal(plain.choices.length, 1);
  const text = plain.choices[0].message.content;
  assert.equal(typeof text, 'string');
  assert.ok(text.length > 0, 'empty completion');
  assert.ok(['stop', 'length'].includes(plain.choices[0].finish_reason));
  assert.ok(plain.usage.prompt_tokens > 0);
  assert.ok(plain.usage.completion_tokens > 0 && plain.usage.completion_tokens <= 24);
  assert.equal(plain.usage.total_tokens, plain.usage.prompt_tokens + plain.usage.completion_tokens);

  const stream = await client.chat.completions.create({
    model, messages, temperature: 0, max_tokens: 24, stream: true, stream_options: { include_usage: true },
  });
  let streamed = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      streamed += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(streamed, text);
  assert.equal(finish, plain.choices[0].finish_reason);
  assert.deepEqual(
    [usage.prompt_tokens, usage.completion_tokens],
    [plain.usage.prompt_tokens, plain.usage.completion_tokens],
  );
});

test('chat with n=2 and logprobs', async () => {
  const model = await modelName();
  const res = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 8, n: 2, logprobs: true, top_logprobs: 2,
  });
  assert.equal(res.choices.length, 2);
  assert.equal(res.choices[0].message.content, res.choices[1].message.content);
  const lp = res.choices[0].logprobs.content;
  assert.equal(lp.length, res.usage.completion_tokens / 2);
  assert.ok(lp[0].logprob <= 0);
  assert.equal(lp[0].top_logprobs.length, 2);
});

test('completions, plain and streamed', async () => {
  const model = await modelName();
  const plain = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 16, temperature: 0 });
  assert.equal(plain.object, 'text_completion');
  assert.ok(plain.choices[0].text.length > 0);
  const stream = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 16, temperature: 0, stream: true });
  let streamed = '';
  for await (const chunk of stream) {
    for (const c of chunk.choices) streamed += c.text;
  }
  assert.equal(streamed, plain.choices[0].text);
  // A token-array prompt.
  const ids = await client.completions.create({ model, prompt: [1, 403, 407], max_tokens: 4, temperature: 0 });
  assert.equal(ids.usage.prompt_tokens, 3);
});

test('embeddings (the SDK asks for base64 and decodes it)', async () => {
  const model = await modelName();
  const res = await client.embeddings.create({ model, input: ['Once upon a time', 'A dog ran'] });
  assert.equal(res.data.length, 2);
  for (const d of res.data) {
    assert.ok(Array.isArray(d.embedding) && d.embedding.length > 0);
    const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  }
  const f = await client.embeddings.create({ model, input: 'Once upon a time', encoding_format: 'float' });
  // JSON floats are float32 values printed shortest; rounded back to float32 they are the
  // base64 bytes exactly.
  assert.deepEqual(f.data[0].embedding.map(Math.fround), res.data[0].embedding);
  assert.ok(res.usage.prompt_tokens > 0);
});

test('typed errors', async () => {
  const model = await modelName();
  await assert.rejects(
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], temperature: 5 }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}`);
      assert.equal(err.status, 400);
      assert.equal(err.param, 'temperature');
      assert.equal(err.type, 'invalid_request_error');
      return true;
    },
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    (err) => err instanceof OpenAI.NotFoundError && err.status === 404 && err.code === 'model_not_found',
  );
  await assert.rejects(
    client.completions.create({ model, prompt: 'hi', max_tokens: 1_000_000 }),
    (err) => err instanceof OpenAI.BadRequestError && err.code === 'context_length_exceeded',
  );
  if (process.env.GOLEM_API_KEY) {
    const wrong = new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (err) => err instanceof OpenAI.AuthenticationError && err.status === 401);
  }
});
