/**
 * The parts of prom-client the gateway uses (Registry, Counter, Gauge), loaded without the rest of it.
 *
 * prom-client's index also loads its default process metrics (and through them @opentelemetry/api), the
 * cluster aggregator, the Pushgateway client and Summary with its t-digest: loading the index took the
 * process's resident memory up by 22 MB, these three files by 3.4 MB (Node 24). The gateway registers
 * none of those, and a gateway holding thousands of streams lives against a memory budget (bench: RSS
 * with 1,000 streams, target 150 MB). prom-client's package has no "exports" map, so its files are public
 * by path; the lockfile pins the version these paths belong to, and test/library-parts.test.ts checks
 * that they are what the index itself exports. Histograms are the gateway's own (tallied-histogram.ts).
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
export type Registry<T extends PromClient.RegistryContentType = PromClient.RegistryContentType> =
  PromClient.Registry<T>;
export const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
