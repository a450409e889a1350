// The simulator's model: pure functions that make up completions, count tokens and embed text.
import { Random, hashNumbers, hashString } from './random.js';

// Lower-case ASCII only, so a token never needs JSON escaping and its wire form can be built once.
const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an ' +
  'they you were her she there one all we their been has when who will more no if out so said what up its ' +
  'about into than them can only other new some could time these two may then do first any my now such ' +
  'like our over man me even most made after also did many before must through back years where much your ' +
  'way well down should because each just those people how too little state good very make world still ' +
  'own see men work long get here between both life being under never day same another know while last ' +
  'might us great old year off come since against go came right used take three'
).split(' ');

/** Each token is a word with its leading space, built once at startup. */
export const TOKENS: readonly string[] = WORDS.map((w) => ' ' + w);

/** The stream delta of each token, `{"content":" word"}`, built once so a chunk costs two concatenations. */
export const TOKEN_DELTAS: readonly string[] = TOKENS.map((t) => `{"content":${JSON.stringify(t)}}`);

/** Draws the index of the next token. Stream and non-stream responses draw identically, so they agree. */
export function nextToken(rng: Random): number {
  return rng.int(TOKENS.length);
}

export function generateText(rng: Random, tokens: number): string {
  let text = '';
  for (let i = 0; i < tokens; i++) text += TOKENS[nextToken(rng)] as string;
  return text;
}

/** A single word without its leading space, for schema values. */
export function randomWord(rng: Random): string {
  return WORDS[rng.int(WORDS.length)] as string;
}

/**
 * Approximate token count: ceil(UTF-16 code units / 4), OpenAI's rule of thumb for English text.
 * Not a tokenizer; it is only meant to give usage figures the right order of magnitude.
 */
export function estimateTokens(text: string): number {
  return tokensForChars(text.length);
}

/** estimateTokens for text known only by its length, e.g. all the message contents of a request. */
export function tokensForChars(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Input of one embedding: a string or a list of token ids. */
export type EmbeddingInput = string | readonly number[];

/**
 * A deterministic unit vector derived from a hash of the input alone (not the seed or the model), so the same
 * text embeds identically across runs. The first k components are the same for any `dimensions` >= k and
 * the vector is then renormalised, like OpenAI's shortened text-embedding-3 vectors.
 */
export function embeddingVector(input: EmbeddingInput, dimensions: number): Float32Array {
  const rng = new Random(typeof input === 'string' ? hashString(input) : hashNumbers(input));
  const raw = new Float64Array(dimensions);
  let sumSquares = 0;
  for (let i = 0; i < dimensions; i++) {
    const v = rng.next() * 2 - 1;
    raw[i] = v;
    sumSquares += v * v;
  }
  const scale = sumSquares > 0 ? 1 / Math.sqrt(sumSquares) : 0;
  const vector = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) vector[i] = (raw[i] as number) * scale;
  return vector;
}

/** Little-endian float32 bytes in base64, the wire form of `encoding_format: "base64"`. */
export function embeddingBase64(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4);
  return bytes.toString('base64');
}
