/**
 * showq/flush.ts: the fast_flush_domains test postqueue -s needs
 * (flush_clnt.c: the flush service refuses sites not matched by
 * fast_flush_domains, default $relay_domains). A domain list: exact names,
 * parent-domain matches (parent_domain_matches_subdomains includes
 * fast_flush_domains by default), "!name" exclusions.
 */
import type { PostfixConfig } from '../../compat/postfix/config.js';

export function matchFastFlush(cfg: PostfixConfig, site: string): boolean {
  const host = site.toLowerCase().replace(/^\[|\]$/g, '');
  const parentMatch = cfg.list('parent_domain_matches_subdomains').includes('fast_flush_domains');
  for (const raw of cfg.list('fast_flush_domains')) {
    let pat = raw.toLowerCase();
    let neg = false;
    while (pat.startsWith('!')) {
      neg = !neg;
      pat = pat.slice(1);
    }
    if (pat === '' || pat.includes(':') || pat.startsWith('/')) continue; // tables: not supported here
    let hit = host === pat;
    if (!hit && pat.startsWith('.')) hit = host.endsWith(pat);
    if (!hit && parentMatch) hit = host.endsWith(`.${pat}`);
    if (hit) return !neg;
  }
  return false;
}
