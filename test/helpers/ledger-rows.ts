/** The smallest valid ledger row, for the ledger's unit tests to vary one field at a time. */
import type { LedgerRow } from '../../src/ledger/ledger.js';

export const sampleRow: LedgerRow = {
  request_id: 'r',
  ts: 1_767_225_600_000,
  key_name: 'key-a',
  model: 'gpt-4o',
  status: 200,
  input_tokens: 1,
  output_tokens: 2,
  cost_usd: 0.5,
  latency_ms: 3,
  attempts: 1,
};
