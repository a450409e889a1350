// Validation of a GenerateContentRequest as the Gemini API does it: unknown fields, the `contents` rules,
// the types of generationConfig's numbers, with Google's wording. Proto JSON accepts both lowerCamelCase
// and snake_case field names, so both spellings are read.
import { isObject, type JsonObject as Json } from '../request.js';
import { fieldViolation, invalidArgument, invalidValue, unknownField } from './errors.js';

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Reads `name` under its camelCase or snake_case spelling. */
export function field(object: Json, name: string): unknown {
  const value = object[name];
  return value === undefined ? object[snake(name)] : value;
}

function knownFields(names: readonly string[]): Set<string> {
  const set = new Set<string>();
  for (const name of names) {
    set.add(name);
    set.add(snake(name));
  }
  return set;
}

const REQUEST_FIELDS = knownFields([
  'model',
  'contents',
  'systemInstruction',
  'tools',
  'toolConfig',
  'safetySettings',
  'generationConfig',
  'cachedContent',
  'labels',
  'serviceTier',
  'store',
]);

const GENERATION_FIELDS = knownFields([
  'stopSequences',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'responseModalities',
  'candidateCount',
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseLogprobs',
  'logprobs',
  'enableEnhancedCivicAnswers',
  'speechConfig',
  'thinkingConfig',
  'imageConfig',
  'mediaResolution',
  'routingConfig',
  'modelSelectionConfig',
  'audioTimestamp',
  'enableAffectiveDialog',
]);

const PART_DATA = [
  'text',
  'inlineData',
  'fileData',
  'functionCall',
  'functionResponse',
  'executableCode',
  'codeExecutionResult',
];

function rejectUnknown(object: Json, known: Set<string>, at: string | undefined): void {
  for (const name of Object.keys(object)) if (!known.has(name)) throw unknownField(name, at);
}

const INT_FIELDS = ['candidateCount', 'maxOutputTokens', 'topK', 'seed'];
const FLOAT_FIELDS = ['temperature', 'topP', 'presencePenalty', 'frequencyPenalty'];

function checkGenerationConfig(config: Json): void {
  rejectUnknown(config, GENERATION_FIELDS, 'generation_config');
  for (const name of INT_FIELDS) {
    const value = field(config, name);
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value)))
      throw invalidValue(`generation_config.${snake(name)}`, 'TYPE_INT32', value);
  }
  for (const name of FLOAT_FIELDS) {
    const value = field(config, name);
    if (value !== undefined && typeof value !== 'number')
      throw invalidValue(`generation_config.${snake(name)}`, 'TYPE_FLOAT', value);
  }
  const count = field(config, 'candidateCount');
  if (typeof count === 'number' && (count < 1 || count > 8)) {
    throw invalidArgument('* GenerateContentRequest.generation_config.candidate_count: must be in [1, 8]\n');
  }
  if (field(config, 'responseSchema') !== undefined && field(config, 'responseJsonSchema') !== undefined) {
    throw invalidArgument(
      'response_schema and response_json_schema are mutually exclusive; set at most one of them.',
    );
  }
}

function checkParts(parts: unknown, at: string): void {
  if (!Array.isArray(parts) || parts.length === 0)
    throw fieldViolation(`${at}.parts`, 'contents.parts must not be empty.');
  parts.forEach((part: unknown, j) => {
    const data = isObject(part) ? PART_DATA.filter((name) => field(part, name) !== undefined) : [];
    if (data.length !== 1) {
      throw fieldViolation(
        `${at}.parts[${j}].data`,
        "required oneof field 'data' must have one initialized field",
      );
    }
    const inline = field(part as Json, 'inlineData');
    if (
      isObject(inline) &&
      (typeof field(inline, 'mimeType') !== 'string' || typeof inline['data'] !== 'string')
    ) {
      throw fieldViolation(`${at}.parts[${j}].inline_data`, 'mime_type and data are required.');
    }
    const response = field(part as Json, 'functionResponse');
    if (isObject(response) && typeof response['name'] !== 'string') {
      throw fieldViolation(`${at}.parts[${j}].function_response.name`, 'Name cannot be empty.');
    }
  });
}

/** Throws the Gemini API's 400 for a request it would reject; returns the request's contents. */
export function checkGenerateRequest(body: unknown, requireRole: boolean): Json[] {
  if (!isObject(body)) throw invalidArgument('Invalid JSON payload received. Expected an object.');
  rejectUnknown(body, REQUEST_FIELDS, undefined);
  const contents = body['contents'];
  if (!Array.isArray(contents) || contents.length === 0) {
    throw fieldViolation('contents', 'contents is not specified');
  }
  contents.forEach((content: unknown, i) => {
    if (!isObject(content)) throw fieldViolation(`contents[${i}]`, 'must be an object');
    const role = content['role'];
    // The Gemini API takes a missing role as "user"; Vertex AI requires it.
    if ((role !== undefined || requireRole) && role !== 'user' && role !== 'model') {
      throw invalidArgument('Please use a valid role: user, model.');
    }
    checkParts(content['parts'], `contents[${i}]`);
  });
  const system = field(body, 'systemInstruction');
  if (system !== undefined) {
    if (!isObject(system)) throw invalidValue('system_instruction', 'TYPE_MESSAGE', system);
    checkParts(system['parts'], 'system_instruction');
  }
  const config = field(body, 'generationConfig');
  if (config !== undefined) {
    if (!isObject(config)) throw invalidValue('generation_config', 'TYPE_MESSAGE', config);
    checkGenerationConfig(config);
  }
  return contents as Json[];
}
