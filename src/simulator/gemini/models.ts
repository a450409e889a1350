// GET /v1beta/models and /v1beta/models/{model}: a fixed catalog in the Gemini API's Model shape
// (https://ai.google.dev/api/models#Model). Generation and embedding calls accept any model name.

interface CatalogEntry {
  id: string;
  displayName: string;
  inputTokenLimit: number;
  outputTokenLimit: number;
  methods: string[];
  thinking: boolean;
}

const GENERATE = ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'];

const CATALOG: readonly CatalogEntry[] = [
  {
    id: 'gemini-2.5-flash',
    displayName: 'Gemini 2.5 Flash',
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 65_536,
    methods: GENERATE,
    thinking: true,
  },
  {
    id: 'gemini-2.5-pro',
    displayName: 'Gemini 2.5 Pro',
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 65_536,
    methods: GENERATE,
    thinking: true,
  },
  {
    id: 'gemini-2.5-flash-lite',
    displayName: 'Gemini 2.5 Flash-Lite',
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 65_536,
    methods: GENERATE,
    thinking: true,
  },
  {
    id: 'gemini-2.0-flash',
    displayName: 'Gemini 2.0 Flash',
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 8_192,
    methods: GENERATE,
    thinking: false,
  },
  {
    id: 'gemini-embedding-001',
    displayName: 'Gemini Embedding 001',
    inputTokenLimit: 2_048,
    outputTokenLimit: 1,
    methods: ['embedContent', 'countTokens', 'countTextTokens', 'asyncBatchEmbedContent'],
    thinking: false,
  },
];

function modelObject(entry: CatalogEntry): object {
  const generative = entry.methods.includes('generateContent');
  return {
    name: `models/${entry.id}`,
    version: '001',
    displayName: entry.displayName,
    description: `${entry.displayName}, simulated by Sluice`,
    inputTokenLimit: entry.inputTokenLimit,
    outputTokenLimit: entry.outputTokenLimit,
    supportedGenerationMethods: entry.methods,
    ...(generative ? { temperature: 1, topP: 0.95, topK: 64, maxTemperature: 2 } : {}),
    ...(entry.thinking ? { thinking: true } : {}),
  };
}

const LIST_BODY = JSON.stringify({ models: CATALOG.map(modelObject) });

export function listModelsBody(): string {
  return LIST_BODY;
}

/** The model's JSON, or undefined when the catalog has no such model. */
export function modelBody(id: string): string | undefined {
  const entry = CATALOG.find((m) => m.id === id);
  return entry === undefined ? undefined : JSON.stringify(modelObject(entry));
}
