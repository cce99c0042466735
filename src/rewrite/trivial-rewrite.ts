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
import { rewriteInternal, rewriteTree } from './rewrite.js';
import { tokExternalize, tokScanAddr } from '../smtpd/tok822.js';
import { resolveAddr, type ResolveResult } from './resolve.js';
import { closeResolveSettings, loadResolveSettings, type ResolveSettings, type RewriteConfig } from './settings.js';

export type { ResolveResult } from './resolve.js';

const CACHE_SIZE = 1000;

export class TrivialRewrite {
  private readonly cache = new Map<string, Promise<ResolveResult>>();

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
    if (addr === '') return '';
    const s = this.settings;
    const tree = tokScanAddr(addr);
    const ctx =
      context === 'local'
        ? { origin: s.myorigin, domain: s.mydomain }
        : { origin: s.remoteHeaderRewriteDomain, domain: s.remoteHeaderRewriteDomain };
    if (tree.head) rewriteTree(s, ctx, tree);
    return tokExternalize(tree.head);
  }

  /** resolve_clnt_query_from(): resolve `addr` (internal form) for `sender`. */
  resolve(sender: string, addr: string): Promise<ResolveResult> {
    const key = `${sender}\0${addr}`;
    let r = this.cache.get(key);
    if (r) {
      this.cache.delete(key);
      this.cache.set(key, r);
      return r;
    }
    r = resolveAddr(this.settings, sender, addr);
    this.cache.set(key, r);
    // Failures are not cached: the next query tries the tables again.
    r.then(
      (res) => {
        if (res.flags & 8 /* RESOLVE_FLAG_FAIL */) this.cache.delete(key);
      },
      () => this.cache.delete(key),
    );
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    return r;
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
