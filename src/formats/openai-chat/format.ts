/** The OpenAI chat-completions inbound format (`POST /v1/chat/completions`). */
import type { ChatFormat } from '../chat-format.js';
import { openAIErrorBody } from '../openai-error.js';
import { parseChatRequest } from './parse-request.js';
import { chatCompletionBody } from './write-response.js';
import { errorFrame, OpenAIChunkWriter } from './write-stream.js';

export const openAIChatFormat: ChatFormat = {
  name: 'openai',
  parse: parseChatRequest,
  responseBody: chatCompletionBody,
  streamWriter: (request) => new OpenAIChunkWriter(request.includeUsage),
  streamErrorFrame: errorFrame,
  errorBody: openAIErrorBody,
};
