/**
 * `/admin/keys` (CONTRACT.md): create, list, read, update and revoke virtual keys while the gateway runs.
 *
 * - POST takes a body shaped like a config key. Without `key`, a secret is generated (192 random bits)
 *   and returned in the 201 answer, once: only its SHA-256 digest is stored, so no later answer can show
 *   it again. Every other answer carries `key_hint` instead.
 * - PATCH replaces the fields it names (`null` clears an optional one); name and secret cannot change (a
 *   key's name is its identity in limits, budgets and the ledger: make a new key instead).
 * - DELETE revokes: the key stops working at once on this replica and within the sync interval on the
 *   others; its row stays, so its spend keeps its name and its secret can never be given to another key.
 * - Keys of the config file are listed and readable with `source: "config"`; changing them is a 409.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { KeyRecord, KeySettings } from '../accounts/account-store.js';
import { digestOf, type VirtualKey } from '../auth/virtual-keys.js';
import { budgetSchema, keySchema, limitsSchema, prioritySchema } from '../config/schema.js';
import { AdminError, checkName, conflict, iso, methodNotAllowed, parseBody, readJson, send } from './http.js';
import type { AdminContext } from './router.js';

const createKeySchema = keySchema.partial({ key: true });

const patchKeySchema = z
  .object({
    team: z.string().min(1).nullable().optional(),
    models: z.array(z.string()).nullable().optional(),
    limits: limitsSchema.nullable().optional(),
    budget: budgetSchema.nullable().optional(),
    end_user_budget: budgetSchema.nullable().optional(),
    priority: prioritySchema.optional(),
  })
  .strict();

/**
 * Recognisable, never usable: the last four characters of a long secret, after its well-known prefix
 * (`sk-sluice-` of generated keys, else `sk-`). Nothing else of a secret an admin chose is shown: its
 * first characters may be much of what makes it secret.
 */
export function hintOf(secret: string): string {
  if (secret.length < 16) return '…';
  const prefix = secret.startsWith('sk-sluice-') ? 'sk-sluice-' : secret.startsWith('sk-') ? 'sk-' : '';
  return `${prefix}…${secret.slice(-4)}`;
}

function settingsView(s: KeySettings): Record<string, unknown> {
  return {
    team: s.team ?? null,
    models: s.models ?? null,
    limits: s.limits ?? null,
    budget: s.budget ?? null,
    end_user_budget: s.end_user_budget ?? null,
    priority: s.priority,
  };
}

export function recordView(record: KeyRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    source: 'api',
    ...settingsView(record.settings),
    key_hint: record.hint,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
    revoked_at: iso(record.revokedAt),
  };
}

function configView(key: VirtualKey): Record<string, unknown> {
  return {
    id: key.id,
    name: key.name,
    source: 'config',
    ...settingsView({
      team: key.team,
      models: key.models === undefined ? undefined : [...key.models],
      limits: key.limits,
      budget: key.budget,
      end_user_budget: key.endUserBudget,
      priority: key.priority,
    }),
    key_hint: null,
    created_at: null,
    updated_at: null,
    revoked_at: null,
  };
}

/** Rules the schema cannot know: models must exist, and a team too once any team is defined. */
function checkReferences(ctx: AdminContext, settings: KeySettings): void {
  checkName(settings.team, 'team');
  settings.models?.forEach((model, i) => {
    if (!ctx.modelNames.has(model))
      throw new AdminError(400, 'invalid_request', `models[${i}]: unknown model "${model}"`, `models[${i}]`);
  });
  const team = settings.team;
  if (team !== undefined && ctx.directory.team(team) === undefined && !ctx.directory.allTeams().next().done)
    throw new AdminError(400, 'invalid_request', `team: unknown team "${team}"`, 'team');
}

function configKey(ctx: AdminContext, id: string): VirtualKey | undefined {
  const key = ctx.directory.keys.byId(id);
  return key?.source === 'config' ? key : undefined;
}

function readOnly(key: VirtualKey): AdminError {
  return new AdminError(409, 'read_only', `key "${key.name}" is defined in the config file; change it there`);
}

export async function handleKeys(
  ctx: AdminContext,
  req: IncomingMessage,
  res: ServerResponse,
  id: string | undefined,
): Promise<void> {
  const store = ctx.accounts;
  const method = req.method ?? 'GET';
  if (id === undefined) {
    if (method === 'GET') {
      const includeRevoked =
        new URL(req.url ?? '/', 'http://x').searchParams.get('include_revoked') === 'true';
      const fromConfig = [...ctx.directory.keys.all()].filter((k) => k.source === 'config').map(configView);
      const made = (await store.listKeys({ includeRevoked })).map(recordView);
      return send(res, 200, { data: [...fromConfig, ...made] });
    }
    if (method !== 'POST') throw methodNotAllowed(method, ['GET', 'POST']);
    const body = parseBody(createKeySchema, await readJson(req));
    const { name, key: given, ...rest } = body;
    checkName(name, 'name');
    const settings: KeySettings = rest;
    checkReferences(ctx, settings);
    if ([...ctx.directory.keys.all()].some((k) => k.source === 'config' && k.name === name))
      throw new AdminError(409, 'name_taken', `a key named "${name}" is defined in the config file`);
    const secret = given ?? `sk-sluice-${randomBytes(24).toString('base64url')}`;
    const digest = digestOf(secret);
    if (ctx.directory.keys.withDigest(digest) !== undefined)
      throw new AdminError(409, 'key_exists', 'this secret belongs to another key');
    const record = await store
      .createKey({
        id: `key_${randomBytes(12).toString('base64url')}`,
        name,
        digest,
        hint: hintOf(secret),
        settings,
      })
      .catch(conflict);
    ctx.directory.applyKey(record);
    ctx.logger.info({ key_id: record.id, key_name: name }, 'virtual key created through the admin API');
    return send(res, 201, { ...recordView(record), ...(given === undefined ? { key: secret } : {}) });
  }

  const fromConfig = configKey(ctx, id);
  if (method === 'GET') {
    if (fromConfig !== undefined) return send(res, 200, configView(fromConfig));
    const record = await store.getKey(id);
    if (record === undefined) throw new AdminError(404, 'not_found', `no key with id ${id}`);
    return send(res, 200, recordView(record));
  }
  if (method !== 'PATCH' && method !== 'DELETE') throw methodNotAllowed(method, ['GET', 'PATCH', 'DELETE']);
  if (fromConfig !== undefined) {
    if (method === 'PATCH') await readJson(req).catch(() => undefined);
    throw readOnly(fromConfig);
  }
  if (method === 'DELETE') {
    const record = await store.revokeKey(id);
    if (record === undefined) throw new AdminError(404, 'not_found', `no key with id ${id}`);
    ctx.directory.applyKey(record);
    ctx.logger.info({ key_id: id, key_name: record.name }, 'virtual key revoked through the admin API');
    return send(res, 200, recordView(record));
  }
  const raw = await readJson(req);
  if (raw !== null && typeof raw === 'object' && ('name' in raw || 'key' in raw)) {
    const field = 'name' in raw ? 'name' : 'key';
    throw new AdminError(
      400,
      'invalid_request',
      `${field}: a key's ${field} cannot change; create a new key and revoke this one`,
      field,
    );
  }
  const patch = parseBody(patchKeySchema, raw);
  const existing = await store.getKey(id);
  if (existing === undefined) throw new AdminError(404, 'not_found', `no key with id ${id}`);
  const merged: Record<string, unknown> = { ...existing.settings };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete merged[field];
    else if (value !== undefined) merged[field] = value;
  }
  const settings = merged as unknown as KeySettings;
  checkReferences(ctx, settings);
  const record = await store.updateKey(id, settings).catch(conflict);
  if (record === undefined) throw new AdminError(404, 'not_found', `no key with id ${id}`);
  ctx.directory.applyKey(record);
  return send(res, 200, recordView(record));
}
