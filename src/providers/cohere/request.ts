/**
 * Canonical chat request → Cohere v2 Chat (POST /v2/chat), after https://docs.cohere.com/v2/reference/chat.
 * Cohere's messages are close to OpenAI's (system/user/assistant/tool roles, function tools, tool_call_id);
 * the differences are the sampling names (`p`, `k`, `stop_sequences`), upper-case `tool_choice`, the tool
 * plan, `response_format` as json_object with an optional schema, and `thinking` for reasoning models.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import {
  readChatRequest,
  refuseUnsupported,
  unsupported,
  type ContentPart,
  type ImageSource,
  type Message,
} from '../../canonical/chat-request.js';
import { type Json } from '../../canonical/json.js';

function imageUrl(source: ImageSource): string {
  return source.kind === 'url' ? source.url : `data:${source.mediaType};base64,${source.data}`;
}

/** A user turn: a plain string when it is text alone (the common case, and the smallest body). */
function userContent(parts: ContentPart[]): string | Json[] {
  if (parts.length === 1 && parts[0]?.type === 'text') return parts[0].text;
  return parts.map((part) =>
    part.type === 'text'
      ? { type: 'text', text: part.text }
      : { type: 'image_url', image_url: { url: imageUrl(part.source) } },
  );
}

function textOnly(parts: ContentPart[], what: string, provider: string, param: string): string {
  let text = '';
  for (const part of parts) {
    if (part.type !== 'text') throw unsupported(`images in ${what}`, provider, param);
    text += part.text;
  }
  return text;
}

function message(turn: Message, i: number, provider: string): Json {
  const param = `messages[${i}].content`;
  switch (turn.role) {
    case 'user':
      return { role: 'user', content: userContent(turn.content) };
    case 'tool':
      return {
        role: 'tool',
        tool_call_id: turn.toolCallId,
        content: textOnly(turn.content, 'tool results', provider, param),
      };
    case 'assistant': {
      const text = textOnly(turn.content, 'assistant messages', provider, param);
      const out: Json = { role: 'assistant' };
      if (turn.toolCalls.length > 0) {
        // The text of a tool-calling turn is what Cohere calls the tool plan (see response.ts).
        if (text !== '') out['tool_plan'] = text;
        out['tool_calls'] = turn.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        }));
        return out;
      }
      // Reasoning of an earlier turn goes back as thinking content; redacted blocks mean nothing to Cohere.
      const thinking = turn.reasoning.filter((block) => block.redacted === undefined && block.text !== '');
      if (thinking.length === 0) {
        out['content'] = text;
        return out;
      }
      const content: Json[] = thinking.map((block) => ({ type: 'thinking', thinking: block.text }));
      if (text !== '') content.push({ type: 'text', text });
      out['content'] = content;
      return out;
    }
  }
}

/**
 * OpenAI's effort levels as Cohere token budgets. Cohere has no effort scale; these budgets are ours, spaced
 * like Anthropic's guidance (1k minimum, 16k for hard problems). "minimal" turns reasoning off.
 */
const effortBudgets = { low: 1_024, medium: 4_096, high: 16_384 } as const;

function thinkingOf(body: ChatRequestBody, view: ReturnType<typeof readChatRequest>): Json | undefined {
  const raw = body['thinking'];
  if (raw !== null && typeof raw === 'object' && (raw as Json)['type'] === 'disabled')
    return { type: 'disabled' };
  const reasoning = view.reasoning;
  if (reasoning === undefined) return undefined;
  if (reasoning.budgetTokens !== undefined) return { type: 'enabled', token_budget: reasoning.budgetTokens };
  if (reasoning.effort === 'minimal') return { type: 'disabled' };
  if (reasoning.effort !== undefined)
    return { type: 'enabled', token_budget: effortBudgets[reasoning.effort] };
  return undefined;
}

export function toCohereChat(body: ChatRequestBody, model: string, stream: boolean, provider: string): Json {
  refuseUnsupported(body, provider, ['n', 'logprobs', 'audio', 'prediction', 'logit_bias', 'modalities']);
  const view = readChatRequest(body, provider);
  const messages: Json[] = [];
  // Cohere wants the system turn first; all system and developer text becomes that one turn.
  if (view.system.length > 0) messages.push({ role: 'system', content: view.system.join('\n\n') });
  view.messages.forEach((turn, i) => messages.push(message(turn, i, provider)));

  const out: Json = { model, messages };
  if (stream) out['stream'] = true;
  let tools = view.tools;
  const choice = view.toolChoice;
  if (choice?.type === 'tool') {
    // Cohere cannot name the tool to call; offering only that tool with REQUIRED has the same effect.
    tools = tools.filter((tool) => tool.name === choice.name);
    if (tools.length === 0)
      throw unsupported(`tool_choice naming an undeclared tool`, provider, 'tool_choice');
  }
  if (tools.length > 0) {
    out['tools'] = tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        parameters: tool.parameters,
        ...(tool.description === undefined ? {} : { description: tool.description }),
      },
    }));
    // Strictness is per request at Cohere; one strict tool makes them all strict (stricter never hurts).
    if (tools.some((tool) => tool.strict === true)) out['strict_tools'] = true;
    if (view.parallelToolCalls === false) {
      throw unsupported('disabling parallel tool calls', provider, 'parallel_tool_calls');
    }
  }
  if (choice?.type === 'required' || choice?.type === 'tool') out['tool_choice'] = 'REQUIRED';
  else if (choice?.type === 'none') out['tool_choice'] = 'NONE';

  const format = view.responseFormat;
  if (format?.type === 'json_object') out['response_format'] = { type: 'json_object' };
  else if (format?.type === 'json_schema')
    out['response_format'] = { type: 'json_object', json_schema: format.schema };

  if (view.stop.length > 0) out['stop_sequences'] = view.stop;
  if (view.maxTokens !== undefined) out['max_tokens'] = view.maxTokens;
  if (view.temperature !== undefined) out['temperature'] = view.temperature;
  if (view.topP !== undefined) out['p'] = view.topP;
  if (view.topK !== undefined) out['k'] = view.topK;
  if (view.seed !== undefined) out['seed'] = view.seed;
  if (view.frequencyPenalty !== undefined) out['frequency_penalty'] = view.frequencyPenalty;
  if (view.presencePenalty !== undefined) out['presence_penalty'] = view.presencePenalty;
  const thinking = thinkingOf(body, view);
  if (thinking !== undefined) out['thinking'] = thinking;
  return out;
}
