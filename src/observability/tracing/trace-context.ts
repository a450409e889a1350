/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading a client's `traceparent` and
 * `tracestate`, and writing the `traceparent` an upstream attempt sends. Plain string work, no
 * OpenTelemetry: it runs for every request, traced or not.
 */

export interface Traceparent {
  traceId: string;
  /** The caller's span: the parent of the gateway's server span. */
  parentSpanId: string;
  /** The caller's sampled flag (bit 0 of trace-flags). */
  sampled: boolean;
}

const zeroTraceId = '0'.repeat(32);
const zeroSpanId = '0'.repeat(16);

/** Lowercase hex only: the spec forbids upper case, and a value with it is invalid as a whole. */
function isLowerHex(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * Parses a `traceparent` header; undefined when it is absent or invalid, in which case the caller starts
 * a new trace (and drops `tracestate`, which is meaningless without its traceparent).
 *
 * Version 00 is exactly `00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`. A higher version is read
 * the way the spec asks of a version-00 parser: its first four fields in the same layout, anything after
 * a further `-`. Version ff and all-zero ids are invalid. Node joins repeated headers with ", ", which
 * makes them invalid too, as the spec wants.
 */
export function parseTraceparent(header: string | string[] | undefined): Traceparent | undefined {
  if (typeof header !== 'string' || header.length < 55) return undefined;
  if (header.charCodeAt(2) !== 45 || header.charCodeAt(35) !== 45 || header.charCodeAt(52) !== 45)
    return undefined;
  if (!isLowerHex(header, 0, 2) || !isLowerHex(header, 3, 35) || !isLowerHex(header, 36, 52))
    return undefined;
  if (!isLowerHex(header, 53, 55)) return undefined;
  const version = header.slice(0, 2);
  if (version === 'ff') return undefined;
  if (version === '00' ? header.length !== 55 : header.length > 55 && header.charCodeAt(55) !== 45)
    return undefined;
  const traceId = header.slice(3, 35);
  const parentSpanId = header.slice(36, 52);
  if (traceId === zeroTraceId || parentSpanId === zeroSpanId) return undefined;
  return { traceId, parentSpanId, sampled: (parseInt(header.slice(53, 55), 16) & 1) === 1 };
}

/** The spec's bounds: at most 32 list members; 512 characters is what every participant must pass on. */
const maxTracestateMembers = 32;
const maxTracestateLength = 512;

/**
 * The `tracestate` to pass on, or undefined. Vendors' entries are opaque to the gateway and passed on as
 * they came; past 32 members the whole value is invalid and dropped, and a value longer than 512
 * characters loses members from the end (the spec lets a participant truncate, whole members at a time).
 */
export function readTracestate(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined) return undefined;
  const members = value
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '');
  if (members.length === 0 || members.length > maxTracestateMembers) return undefined;
  let out = members.join(',');
  while (out.length > maxTracestateLength && members.length > 1) {
    members.pop();
    out = members.join(',');
  }
  return out.length > maxTracestateLength ? undefined : out;
}

/** The `traceparent` sent upstream for one attempt: the attempt's own span is the upstream's parent. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}
