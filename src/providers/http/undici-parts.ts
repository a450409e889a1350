/**
 * The parts of undici the gateway uses (the connection Pool, its request API and its error classes),
 * loaded without the rest of the package.
 *
 * undici's index loads every feature it has at once: fetch with its web streams, WebSocket, EventSource,
 * the mock agent, caches, proxies. Loading the index took the process's resident memory up by 29 MB;
 * these three files take it up by 16 MB (Node 24). A gateway holding thousands of streams lives against a
 * memory budget (bench: RSS with 1,000 streams, target 150 MB), and the other 13 MB bought nothing. undici's
 * package has no "exports" map, so its files are public by path; the lockfile pins the version these
 * paths belong to, and test/library-parts.test.ts checks that they are what the index itself exports.
 */
import { createRequire } from 'node:module';
import type { Dispatcher, Pool as UndiciPool, errors as UndiciErrors } from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const errors = require('undici/lib/core/errors.js') as typeof UndiciErrors;
const request = require('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/**
 * `dispatcher.request(options)`: the index adds the request API to every dispatcher's prototype; without
 * the index, it is called on the dispatcher.
 */
export function requestOn(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return request.call(dispatcher, options);
}
