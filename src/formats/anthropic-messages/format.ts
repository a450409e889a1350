/** The Anthropic Messages inbound format (`POST /v1/messages`). */
import type { ChatFormat } from '../chat-format.js';
import { openAIChatFormat } from '../openai-chat/format.js';

export const anthropicMessagesFormat: ChatFormat = { ...openAIChatFormat, name: 'anthropic' };
