/**
 * The admin API under `/admin/` (CONTRACT.md), guarded by `server.admin_key` as a Bearer token, compared
 * as digests in constant time. Without an admin key configured, the gateway has no /admin at all (404):
 * an unconfigured gateway exposes nothing. Keys and teams need the account store (a database); spend and
 * the request log need the ledger; without them those paths are a 404 that says why.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AccountStore } from '../accounts/account-store.js';
import type { Directory } from '../auth/directory.js';
import type { LedgerStore } from '../ledger/index.js';
import type * as Keys from './keys.js';
import type * as Teams from './teams.js';
import { AdminError, adminAuthorized, methodNotAllowed, sendError } from './http.js';
import { handleRequests } from './requests.js';
import { handleSpend } from './spend.js';

// Keys and teams validate their bodies with the config's zod schemas: loaded on the first such request,
// so a gateway that never gets one does not hold zod (config/load-off-thread.ts says why that matters).
const keysModule = (): Promise<typeof Keys> => import('./keys.js');
const teamsModule = (): Promise<typeof Teams> => import('./teams.js');

export interface AdminContext {
  directory: Directory;
  accounts: AccountStore;
  /** Configured model names: a key's allow-list may name only these. */
  modelNames: ReadonlySet<string>;
  logger: Logger;
}

export interface AdminOptions {
  adminDigest: Buffer;
  directory: Directory;
  accounts: AccountStore | undefined;
  ledger: LedgerStore | undefined;
  modelNames: ReadonlySet<string>;
  logger: Logger;
}

function segment(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new AdminError(400, 'invalid_request', 'the path is not valid percent-encoding');
  }
}

function noDatabase(what: string): AdminError {
  return new AdminError(404, 'not_found', `no ${what}: the gateway has no database (database.url: none)`);
}

export function createAdmin(
  options: AdminOptions,
): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  const { adminDigest, accounts, ledger, logger } = options;

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = path.split('/').filter((p) => p !== '');
    const [, resource, id, ...rest] = parts;
    if (rest.length > 0 || resource === undefined)
      throw new AdminError(404, 'not_found', `no admin endpoint ${path.slice(0, 200)}`);
    if (resource === 'keys' || resource === 'teams') {
      if (accounts === undefined) throw noDatabase(resource);
      const ctx: AdminContext = {
        directory: options.directory,
        accounts,
        modelNames: options.modelNames,
        logger,
      };
      const name = id === undefined ? undefined : segment(id);
      if (resource === 'keys') return (await keysModule()).handleKeys(ctx, req, res, name);
      return (await teamsModule()).handleTeams(ctx, req, res, name);
    }
    if ((resource === 'spend' || resource === 'requests') && id === undefined) {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, ['GET']);
      if (ledger === undefined) throw noDatabase('ledger');
      const url = new URL(req.url ?? '/', 'http://x');
      return resource === 'spend' ? handleSpend(url, res, ledger) : handleRequests(url, res, ledger);
    }
    throw new AdminError(404, 'not_found', `no admin endpoint ${path.slice(0, 200)}`);
  }

  return (req, res, path) => {
    if (!adminAuthorized(req, res, adminDigest)) {
      req.resume();
      return;
    }
    route(req, res, path).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof AdminError) {
        // An unread body on a refused request would stall the connection's next request.
        req.resume();
        return sendError(res, error);
      }
      logger.error({ err: error, path: path.slice(0, 200), method: req.method }, 'admin request failed');
      sendError(res, new AdminError(500, 'internal', 'internal error'));
    });
  };
}
