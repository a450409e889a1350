/**
 * `/admin/teams` (CONTRACT.md): teams with their limits and budgets, changed while the gateway runs. A
 * team's name is its identity (in keys, limits, budgets and the ledger), so it is the path and cannot
 * change. DELETE refuses while a live key belongs to the team: its keys would silently leave the team's
 * budget. Teams of the config file are listed and readable with `source: "config"`; changing them is a 409.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { TeamRecord } from '../accounts/account-store.js';
import type { Team } from '../auth/directory.js';
import { budgetSchema, limitsSchema, teamSchema } from '../config/schema.js';
import { AdminError, checkName, conflict, iso, methodNotAllowed, parseBody, readJson, send } from './http.js';
import type { AdminContext } from './router.js';

const patchTeamSchema = z
  .object({ limits: limitsSchema.nullable().optional(), budget: budgetSchema.nullable().optional() })
  .strict();

function recordView(record: TeamRecord): Record<string, unknown> {
  return {
    name: record.name,
    source: 'api',
    limits: record.settings.limits ?? null,
    budget: record.settings.budget ?? null,
    created_at: iso(record.createdAt),
    updated_at: iso(record.updatedAt),
    deleted_at: iso(record.deletedAt),
  };
}

function configView(team: Team): Record<string, unknown> {
  return {
    name: team.name,
    source: 'config',
    limits: team.limits ?? null,
    budget: team.budget ?? null,
    created_at: null,
    updated_at: null,
    deleted_at: null,
  };
}

export async function handleTeams(
  ctx: AdminContext,
  req: IncomingMessage,
  res: ServerResponse,
  name: string | undefined,
): Promise<void> {
  const store = ctx.accounts;
  const method = req.method ?? 'GET';
  if (name === undefined) {
    if (method === 'GET') {
      const fromConfig = [...ctx.directory.allTeams()].filter((t) => t.source === 'config').map(configView);
      return send(res, 200, { data: [...fromConfig, ...(await store.listTeams()).map(recordView)] });
    }
    if (method !== 'POST') throw methodNotAllowed(method, ['GET', 'POST']);
    const body = parseBody(teamSchema, await readJson(req));
    checkName(body.name, 'name');
    if (ctx.directory.team(body.name)?.source === 'config')
      throw new AdminError(409, 'team_exists', `team "${body.name}" is defined in the config file`);
    const record = await store
      .createTeam(body.name, { limits: body.limits, budget: body.budget })
      .catch(conflict);
    ctx.directory.applyTeam(record);
    return send(res, 201, recordView(record));
  }

  const configured = ctx.directory.team(name);
  const fromConfig = configured?.source === 'config' ? configured : undefined;
  if (method === 'GET') {
    if (fromConfig !== undefined) return send(res, 200, configView(fromConfig));
    const record = await store.getTeam(name);
    if (record === undefined) throw new AdminError(404, 'not_found', `no team named "${name}"`);
    return send(res, 200, recordView(record));
  }
  if (method !== 'PATCH' && method !== 'DELETE') throw methodNotAllowed(method, ['GET', 'PATCH', 'DELETE']);
  if (fromConfig !== undefined) {
    if (method === 'PATCH') await readJson(req).catch(() => undefined);
    throw new AdminError(409, 'read_only', `team "${name}" is defined in the config file; change it there`);
  }
  if (method === 'DELETE') {
    // Keys of the config file (and those already read from other replicas) name teams too; the store
    // checks the database's keys in the same transaction as the delete.
    const members = [...ctx.directory.keys.all()].filter((k) => k.team === name).length;
    if (members > 0)
      throw new AdminError(
        409,
        'team_in_use',
        `${members} live key(s) belong to team "${name}"; move or revoke them first`,
      );
    const record = await store.deleteTeam(name).catch(conflict);
    if (record === undefined) throw new AdminError(404, 'not_found', `no team named "${name}"`);
    ctx.directory.applyTeam(record);
    return send(res, 200, recordView(record));
  }
  const raw = await readJson(req);
  if (raw !== null && typeof raw === 'object' && 'name' in raw)
    throw new AdminError(400, 'invalid_request', "name: a team's name cannot change", 'name');
  const patch = parseBody(patchTeamSchema, raw);
  const existing = await store.getTeam(name);
  if (existing === undefined) throw new AdminError(404, 'not_found', `no team named "${name}"`);
  const settings = { ...existing.settings };
  if (patch.limits === null) delete settings.limits;
  else if (patch.limits !== undefined) settings.limits = patch.limits;
  if (patch.budget === null) delete settings.budget;
  else if (patch.budget !== undefined) settings.budget = patch.budget;
  const record = await store.updateTeam(name, settings).catch(conflict);
  if (record === undefined) throw new AdminError(404, 'not_found', `no team named "${name}"`);
  ctx.directory.applyTeam(record);
  return send(res, 200, recordView(record));
}
