/**
 * rewrite/trivial-rewrite.ts: trivial-rewrite(8) as an in-process library.
 * Postfix runs it as a daemon that qmgr, smtpd and cleanup query over a
 * socket (rewrite_clnt, resolve_clnt); Postern's callers hold one
 * TrivialRewrite and call it directly.
 *
 *   rewrite(context, addr)   "local" or "remote" canonicalization
 *                            (append_at_myorigin, append_dot_mydomain,
 *                            swap_bangpath, allow_percent_hack)
 *   resolve(sender, addr)    (transport, nexthop, recipient, flags)
 *
 * Results are cached per process for a short while, as resolve_clnt does
 * for its last query (here: a small LRU, cleared by flush()).
 */
import { rewriteExternal, rewriteInternal } from './rewrite.js';
import { ResolveCache, resolveAddr, type ResolveResult } from './resolve.js';
import { closeResolveSettings, loadResolveSettings, type ResolveSettings, type RewriteConfig } from './settings.js';

export type { ResolveResult } from './resolve.js';

const CACHE_SIZE = 1000;

export class TrivialRewrite {
  private readonly cache = new ResolveCache(CACHE_SIZE);

  constructor(readonly settings: ResolveSettings) {}

  /** Open the tables main.cf names (trivial-rewrite's start-up). */
  static async open(cfg: RewriteConfig, opts: { warn?: (text: string) => void } = {}): Promise<TrivialRewrite> {
    return new TrivialRewrite(await loadResolveSettings(cfg, opts));
  }

  /** rewrite_clnt_internal(): internal form in and out. */
  rewrite(context: 'local' | 'remote', addr: string): string {
    return rewriteInternal(this.settings, context, addr);
  }

  /** rewrite_proto(): the daemon's view, external (quoted) form in and out. */
  rewriteExternal(context: 'local' | 'remote', addr: string): string {
    return rewriteExternal(this.settings, context, addr);
  }

  /** resolve_clnt_query_from(): resolve `addr` (internal form) for `sender`. */
  resolve(sender: string, addr: string): Promise<ResolveResult> {
    return this.cache.get(sender, addr, () => resolveAddr(this.settings, sender, addr));
  }

  /** Forget cached results (tables changed). */
  flush(): void {
    this.cache.clear();
  }

  async close(): Promise<void> {
    this.cache.clear();
    await closeResolveSettings(this.settings);
  }
}
