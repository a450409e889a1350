/**
 * Routing and resilience end to end on the memory state backend: the shared load cases and every scenario
 * (helpers/routing-cases.ts, helpers/routing-scenarios.ts). routing-redis.test.ts runs them on Redis.
 */
import { sharedRoutingCases } from './helpers/routing-cases.js';
import { routingScenarios } from './helpers/routing-scenarios.js';
import { memoryBackend } from './helpers/routing.js';

sharedRoutingCases(memoryBackend());
routingScenarios(memoryBackend);
