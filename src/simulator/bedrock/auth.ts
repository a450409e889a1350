// Bedrock's authentication, checked as AWS checks it: a Signature Version 4 `authorization` header
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html), or a Bedrock
// API key as a Bearer token. With a configured key the signature is verified, taking the key as the secret
// access key of any access key id. Written on node:crypto from the specification, apart from the signer
// the gateway and the AWS SDK use, so a signing mistake on their side shows up here.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { BedrockError } from './errors.js';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses a signature dated more than 5 minutes from its clock. */
const MAX_SKEW_MS = 5 * 60 * 1000;

const forbidden = (type: string, message: string): BedrockError => new BedrockError(403, type, message);

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret ' +
  'Access Key and signing method. Consult the service documentation for details.';

/** RFC 3986 encoding, as SigV4 requires (encodeURIComponent leaves !'()* alone). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The canonical URI of a non-S3 service: each segment of the path as received, encoded once more. */
function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(segment));
  }
  return '/' + segments.join('/') + (segments.length > 0 && rawPath.endsWith('/') ? '/' : '');
}

function canonicalQuery(query: URLSearchParams): string {
  const pairs = [...query].map(([key, value]) => [uriEncode(key), uriEncode(value)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ');
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

interface ParsedAuthorization {
  accessKeyId: string;
  scope: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization {
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq !== -1) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!fields.has(name)) {
      throw forbidden(
        'IncompleteSignatureException',
        `Authorization header requires '${name}' parameter. Authorization=${header}`,
      );
    }
  }
  const credential = (fields.get('Credential') as string).split('/');
  if (credential.length !== 5 || credential[4] !== 'aws4_request') {
    throw forbidden(
      'IncompleteSignatureException',
      `Credential should be scoped to a valid region, not '${credential[2] ?? ''}'. `,
    );
  }
  const [accessKeyId, date, region, service] = credential as [string, string, string, string];
  return {
    accessKeyId,
    scope: `${date}/${region}/${service}/aws4_request`,
    date,
    region,
    service,
    signedHeaders: (fields.get('SignedHeaders') as string).split(';'),
    signature: fields.get('Signature') as string,
  };
}

function amzDateMs(value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return NaN;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}

export interface SignedRequest {
  method: string;
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Throws the 403 Bedrock would send, or returns when the request is authenticated. */
export function checkBedrockAuth(request: SignedRequest, secret: string | undefined, now = Date.now()): void {
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    throw forbidden('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if (/^bearer\s+/i.test(header)) {
    if (secret !== undefined && header.replace(/^bearer\s+/i, '').trim() !== secret) {
      throw forbidden(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    }
    return;
  }
  if (!header.startsWith(ALGORITHM + ' ')) {
    throw forbidden(
      'IncompleteSignatureException',
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${header}`,
    );
  }
  const auth = parseAuthorization(header);
  if (secret === undefined) return;

  const amzDate = headerValue(request.headers, 'x-amz-date');
  if (amzDate === undefined || !auth.signedHeaders.includes('host')) {
    throw forbidden(
      'IncompleteSignatureException',
      `'Host' or 'X-Amz-Date' header is missing or not signed.`,
    );
  }
  const signedAt = amzDateMs(amzDate);
  if (!(Math.abs(now - signedAt) <= MAX_SKEW_MS)) {
    throw forbidden(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${new Date(now - MAX_SKEW_MS).toISOString()} ` +
        `(${new Date(now).toISOString()} - 5 min.)`,
    );
  }
  if (auth.service !== 'bedrock' || !amzDate.startsWith(auth.date)) {
    throw forbidden(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: 'bedrock'. `,
    );
  }
  // AWS hashes the body it received; a declared hash that differs is a signature that cannot match.
  const payloadHash = sha256Hex(request.body);
  const declared = headerValue(request.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== payloadHash)
    throw forbidden('InvalidSignatureException', MISMATCH);

  const canonicalHeaders = auth.signedHeaders
    .map((name) => `${name}:${headerValue(request.headers, name) ?? ''}\n`)
    .join('');
  const canonicalRequest = [
    request.method,
    canonicalUri(request.rawPath),
    canonicalQuery(request.query),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const stringToSign = [ALGORITHM, amzDate, auth.scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, auth.date), auth.region), auth.service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw forbidden('InvalidSignatureException', MISMATCH);
  }
}
