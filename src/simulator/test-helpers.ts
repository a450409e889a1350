// Shared by the simulator's tests: a simulator on a free port, closed when the test ends, and an SDK client.
import type { TestContext } from 'node:test';
import OpenAI from 'openai';
import { startSimulator } from './server.js';
import type { SimulatorHandle } from './server.js';
import type { SimulatorOptions } from './options.js';

export interface Fixture {
  sim: SimulatorHandle;
  client: OpenAI;
}

export async function simulator(t: TestContext, options: Partial<SimulatorOptions> = {}): Promise<Fixture> {
  const sim = await startSimulator({ port: 0, ...options });
  t.after(() => sim.close());
  return { sim, client: new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x', maxRetries: 0 }) };
}

/** Raw JSON POST, for requests the SDK's types would refuse to send. */
export async function postJson(
  sim: SimulatorHandle,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const response = await fetch(sim.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: await response.json() };
}

export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

export const user = (content: string): OpenAI.Chat.ChatCompletionMessageParam[] => [
  { role: 'user', content },
];
