/**
 * How the gateway authenticates to Bedrock: AWS Signature Version 4 with access keys, or a Bedrock API key
 * sent as a Bearer token (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-use.html).
 *
 * Which one, in order: the provider's own `aws_access_key_id`/`aws_secret_access_key`, then its `api_key`
 * (a Bedrock API key), then the standard environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
 * AWS_SESSION_TOKEN, then AWS_BEARER_TOKEN_BEDROCK, the variable the AWS SDKs read for API keys). The
 * environment is read once, when the adapter is built. No credential at all is not a config error (an
 * operator may set the environment later for a rolling restart): each request then fails with a 502
 * `upstream_auth_failed` saying what to set.
 */
import { createHash } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ProviderConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';

export interface SignableRequest {
  /** The path exactly as it goes on the wire (already percent-encoded). */
  path: string;
  /** Lower-case header names; `host` included. */
  headers: Record<string, string>;
  body: string;
}

/** Adds the auth headers to a request; resolves with the flat header list undici sends. */
export type RequestAuthorizer = (request: SignableRequest) => Promise<string[]>;

export type BedrockCredentials =
  | { kind: 'sigv4'; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'none' };

const present = (value: string | undefined): value is string => value !== undefined && value !== '';

export function resolveCredentials(
  config: ProviderConfig,
  env: Record<string, string | undefined> = process.env,
): BedrockCredentials {
  const sigv4 = (id: string, secret: string, token: string | undefined): BedrockCredentials => ({
    kind: 'sigv4',
    accessKeyId: id,
    secretAccessKey: secret,
    ...(present(token) ? { sessionToken: token } : {}),
  });
  if (present(config.aws_access_key_id) && present(config.aws_secret_access_key))
    return sigv4(config.aws_access_key_id, config.aws_secret_access_key, config.aws_session_token);
  if (present(config.api_key)) return { kind: 'bearer', token: config.api_key };
  const id = env['AWS_ACCESS_KEY_ID'];
  const secret = env['AWS_SECRET_ACCESS_KEY'];
  if (present(id) && present(secret)) return sigv4(id, secret, env['AWS_SESSION_TOKEN']);
  const token = env['AWS_BEARER_TOKEN_BEDROCK'];
  if (present(token)) return { kind: 'bearer', token };
  return { kind: 'none' };
}

const flatten = (headers: Record<string, string>): string[] => {
  const list: string[] = [];
  for (const name in headers) list.push(name, headers[name] as string);
  return list;
};

/**
 * One signer per provider, reused for every request: SignatureV4 caches the derived signing key per day,
 * region and service, so a request costs one HMAC of the string to sign. The payload is hashed here with
 * node:crypto and handed over as `x-amz-content-sha256` (the signer uses that header when present), so a
 * large body (images) is not hashed by the pure-JS SHA-256 the signer's HMACs use.
 */
export function createAuthorizer(
  credentials: BedrockCredentials,
  region: string,
  providerName: string,
): RequestAuthorizer {
  switch (credentials.kind) {
    case 'none': {
      const error = (): GatewayError =>
        new GatewayError(
          'upstream_auth_failed',
          `provider ${providerName} has no AWS credentials: set aws_access_key_id and aws_secret_access_key ` +
            '(or api_key for a Bedrock API key), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment',
        );
      return () => Promise.reject(error());
    }
    case 'bearer': {
      const authorization = `Bearer ${credentials.token}`;
      return (request) => Promise.resolve([...flatten(request.headers), 'authorization', authorization]);
    }
    case 'sigv4': {
      const signer = new SignatureV4({
        service: 'bedrock',
        region,
        credentials: {
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: credentials.secretAccessKey,
          ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
        },
        sha256: Sha256,
        // The default, spelled out: the canonical path is the wire path encoded once more, as the AWS SDK
        // signs it (a model id's ':' is %3A on the wire and %253A in the canonical request).
        uriEscapePath: true,
      });
      return async (request) => {
        const headers: Record<string, string> = {
          ...request.headers,
          'x-amz-content-sha256': createHash('sha256').update(request.body).digest('hex'),
        };
        const host = headers['host'] as string;
        const signed = await signer.sign({
          method: 'POST',
          protocol: 'https:',
          hostname: host,
          path: request.path,
          query: {},
          headers,
          body: request.body,
        });
        return flatten(signed.headers);
      };
    }
  }
}
