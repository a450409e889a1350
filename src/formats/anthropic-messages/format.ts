/** The Anthropic Messages inbound format (`POST /v1/messages`), for the Anthropic SDK and Claude Code. */
import type { ChatFormat } from '../chat-format.js';
import { anthropicErrorBody, anthropicErrorEvent } from './errors.js';
import { parseMessagesRequest } from './parse-request.js';
import { messageBody } from './write-response.js';
import { AnthropicEventWriter } from './write-stream.js';

export const anthropicMessagesFormat: ChatFormat = {
  name: 'anthropic',
  parse: parseMessagesRequest,
  responseBody: messageBody,
  streamWriter: () => new AnthropicEventWriter(),
  streamErrorFrame: anthropicErrorEvent,
  errorBody: anthropicErrorBody,
};
