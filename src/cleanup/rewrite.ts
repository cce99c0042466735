/**
 * cleanup/rewrite.ts: address rewriting to standard form, what cleanup asks
 * trivial-rewrite(8) for (trivial-rewrite/rewrite.c rewrite_tree; contexts
 * "local" and "remote" from rewrite_clnt). Postern has no separate rewrite
 * daemon yet, so cleanup runs the same rules in process:
 *
 * 1. "" and a lone "@" stay the null address;
 * 2. a source route "@a,@b:user@dom" is stripped to "user@dom";
 * 3. without '@': "host!user" -> "user@host" (swap_bangpath), else
 *    "user%dom" -> "user@dom" (allow_percent_hack), else "user" ->
 *    "user@$myorigin" (append_at_myorigin; remote context: $remote_header_rewrite_domain);
 * 4. "user@host" -> "user@host.$mydomain" when append_dot_mydomain and the
 *    domain has no dot and is not a [literal];
 * 5. a trailing dot of the domain is removed.
 */
import {

  cutAfter,
  externalize,
  findType,
  quote822Local,
  rfindType,
  scan,
  STR_DEFL,
  subAppend,
  subKeepAfter,
  subKeepBefore,
  subPrepend,
  Tok,
  TOK_ADDR,
  TOK_DOMLIT,
  TOK_QSTRING,
  unquote822Local,
} from './tok822.js';

export interface RewriteSettings {
  myorigin: string;
  mydomain: string;
  /** remote_header_rewrite_domain ('' = no remote rewriting). */
  remoteDomain: string;
  swapBangpath: boolean;
  percentHack: boolean;
  appendAtMyorigin: boolean;
  appendDotMydomain: boolean;
}

const AT = 0x40;
const COLON = 0x3a;
const BANG = 0x21;
const PERCENT = 0x25;
const DOT = 0x2e;

function rewriteTree(s: RewriteSettings, context: 'local' | 'remote', tree: Tok): void {
  const origin = context === 'local' ? s.myorigin : s.remoteDomain;
  const domainName = context === 'local' ? s.mydomain : s.remoteDomain;
  if (!tree.head || !tree.tail) return;
  if (tree.head === tree.tail && tree.tail.type === TOK_QSTRING && tree.tail.text === '') return;
  if (tree.head === tree.tail && tree.tail.type === AT) {
    subKeepBefore(tree, tree.tail);
    subAppend(tree, new Tok(TOK_QSTRING, ''));
    return;
  }
  // Strip source route.
  if (tree.head.type === AT) {
    const colon = findType(tree.head, COLON);
    if (colon && colon !== tree.tail) subKeepAfter(tree, colon);
  }
  if (!tree.tail || !tree.head) return;
  if (rfindType(tree.tail, AT) === null) {
    const bang = s.swapBangpath ? findType(tree.head, BANG) : null;
    let pct: Tok | null;
    if (bang) {
      subKeepBefore(tree, bang);
      const local = cutAfter(bang);
      subPrepend(tree, new Tok(AT));
      if (local) subPrepend(tree, local);
    } else if (s.percentHack && (pct = rfindType(tree.tail, PERCENT)) !== null) {
      pct.type = AT;
    } else if (s.appendAtMyorigin && origin !== '') {
      subAppend(tree, new Tok(AT));
      const o = scan(origin);
      if (o.head) subAppend(tree, o.head);
    }
  }
  if (s.appendDotMydomain && domainName !== '') {
    const domain = rfindType(tree.tail, AT);
    if (domain && domain !== tree.tail && findType(domain, TOK_DOMLIT) === null && findType(domain, DOT) === null) {
      subAppend(tree, new Tok(DOT));
      const d = scan(domainName);
      if (d.head) subAppend(tree, d.head);
    }
  }
  const t = tree.tail;
  if (t && t.type === DOT && t.prev && t.prev.type !== DOT && t.prev.type !== AT) subKeepBefore(tree, t);
}

/** rewrite_clnt(): rewrite an address in external (quoted) form. */
export function rewriteExternal(s: RewriteSettings, context: 'local' | 'remote', addr: string): string {
  if (addr === '') return '';
  const tree = new Tok(TOK_ADDR);
  const { head } = scan(addr);
  if (!head) return '';
  subAppend(tree, head);
  rewriteTree(s, context, tree);
  return externalize(tree.head, STR_DEFL);
}

/** cleanup_rewrite_internal(): the same for an unquoted (internal) address. */
export function rewriteInternal(s: RewriteSettings, context: 'local' | 'remote', addr: string): string {
  return unquote822Local(rewriteExternal(s, context, quote822Local(addr)));
}

/** cleanup_rewrite_tree(): rewrite one ADDR node of a parsed header in place. */
export function rewriteAddrNode(s: RewriteSettings, context: 'local' | 'remote', node: Tok): boolean {
  const src = externalize(node.head, STR_DEFL);
  const dst = rewriteExternal(s, context, src);
  const { head, tail } = scan(dst);
  node.head = null;
  node.tail = null;
  if (head) subAppend(node, head);
  void tail;
  return dst !== src;
}


