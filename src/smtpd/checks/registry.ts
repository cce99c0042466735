/**
 * smtpd/checks/registry.ts: restriction name -> handler. Built-ins are
 * registered by builtin.ts; maps, DNS lists, SASL and policy servers add
 * theirs with registerRestriction() (see types.ts for the handler contract).
 */
import type { RestrictionHandler } from './types.js';

/** Lower-case restriction name -> handler. */
export const restrictionRegistry = new Map<string, RestrictionHandler>();

export function registerRestriction(name: string, handler: RestrictionHandler): void {
  restrictionRegistry.set(name.toLowerCase(), handler);
}
