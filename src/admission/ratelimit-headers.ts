/**
 * The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-10), in their Structured Fields
 * form: `RateLimit-Policy` lists the quota policies that apply to the request, `RateLimit` what is left of
 * them now. For example, a key with 600 requests and 200,000 tokens per minute:
 *
 *   RateLimit-Policy: "key-rpm";q=600;w=60, "key-tpm";q=200000;w=60;qu="tokens"
 *   RateLimit: "key-rpm";r=12;t=5
 *
 * Policy names are the limit's scope and kind; `qu` is the draft's quota unit parameter ("requests" is
 * its default and is left out; tokens are not among the draft's registered units, so "tokens" is sent as
 * an extension value clients may ignore). `RateLimit` names the policy closest to refusing.
 */

export interface QuotaPolicy {
  /** e.g. "key-rpm", "team-tpm": a Structured Fields string, so quotes and backslashes are escaped. */
  name: string;
  quota: number;
  windowSeconds: number;
  unit?: 'requests' | 'tokens' | 'concurrent-requests';
}

export interface QuotaState {
  name: string;
  remaining: number;
  /** Seconds until the quota is fully available again. */
  resetSeconds: number;
}

/** An sf-string: printable ASCII, with `"` and `\` escaped; anything else is dropped rather than sent broken. */
function sfString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) continue;
    out += char === '"' || char === '\\' ? `\\${char}` : char;
  }
  return `${out}"`;
}

/** A non-negative sf-integer (the draft's parameters are integers; fractions are rounded up, never down). */
const sfInteger = (value: number): number => Math.max(0, Math.ceil(value));

export function rateLimitPolicy(policies: readonly QuotaPolicy[]): string {
  return policies
    .map((p) => {
      let item = `${sfString(p.name)};q=${sfInteger(p.quota)};w=${sfInteger(p.windowSeconds)}`;
      if (p.unit !== undefined && p.unit !== 'requests') item += `;qu=${sfString(p.unit)}`;
      return item;
    })
    .join(', ');
}

export function rateLimit(state: QuotaState): string {
  return `${sfString(state.name)};r=${sfInteger(state.remaining)};t=${sfInteger(state.resetSeconds)}`;
}
