/**
 * flush/domains.ts: which sites get a fast-flush logfile (flush_clnt.c,
 * flush.c: fast_flush_domains, default $relay_domains; postqueue -s and
 * sendmail -qR are refused for the others). A domain list: exact names,
 * parent-domain matches (parent_domain_matches_subdomains includes
 * fast_flush_domains by default), "!name" exclusions.
 */

/** The main.cf view the flush code reads (PostfixConfig, a worker config). */
export interface FlushConfig {
  list(name: string): string[];
  time(name: string): number;
}

export function matchFastFlush(cfg: Pick<FlushConfig, 'list'>, site: string): boolean {
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
