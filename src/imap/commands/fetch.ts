/**
 * imap/commands/fetch.ts: FETCH and UID FETCH (RFC 3501 §6.4.5, RFC 3516
 * BINARY, RFC 7162 MODSEQ/CHANGEDSINCE). The message content items go
 * through imap/mime (ENVELOPE, BODY[STRUCTURE], sections, BINARY).
 * Dovecot's ways: the macros ALL/FAST/FULL only without parentheses,
 * UID first for UID FETCH, FLAGS first when the fetch set \Seen, and a
 * separate "* n FETCH (MODSEQ (m))" after it once CONDSTORE is on.
 */
import type { ImapArg } from '../args.js';
import {
  type SectionSpec,
  BinaryError,
  binarySize,
  bodyStructure,
  envelope,
  fetchBinaryContent,
  fetchSection,
  imapString,
  parseMessage,
  snippet,
} from '../mime/index.js';
import type { ImapSession } from '../session.js';
import { atomArg, formatInternalDate } from '../util.js';
import { seqsOf } from './seqs.js';
import { BadCommand, type Cmd, TaggedReply } from './types.js';

type Kind =
  | 'FLAGS'
  | 'UID'
  | 'INTERNALDATE'
  | 'RFC822.SIZE'
  | 'MODSEQ'
  | 'ENVELOPE'
  | 'BODY'
  | 'BODYSTRUCTURE'
  | 'RFC822'
  | 'RFC822.HEADER'
  | 'RFC822.TEXT'
  | 'SECTION'
  | 'BINARY'
  | 'BINARY.SIZE'
  | 'SNIPPET'
  | 'PREVIEW'
  | 'SAVEDATE';

interface Item {
  kind: Kind;
  /** The name echoed in the response. */
  echo: string;
  spec?: SectionSpec;
  peek?: boolean;
}

const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};
const SIMPLE = new Set(['FLAGS', 'UID', 'INTERNALDATE', 'RFC822.SIZE', 'MODSEQ', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'SAVEDATE']);

/** "1.2.HEADER.FIELDS" + field list → SectionSpec; undefined when invalid. */
function parseSection(text: string, fields: string[] | undefined, binary: boolean): SectionSpec | undefined {
  const part: number[] = [];
  let rest = text;
  for (;;) {
    const m = /^([1-9]\d*)(\.|$)/.exec(rest);
    if (!m) break;
    part.push(Number(m[1]));
    rest = rest.slice(m[0].length);
    if (m[2] === '') break;
  }
  if (rest === '') return fields ? undefined : { part };
  if (binary) return undefined;
  const up = rest.toUpperCase();
  if (up === 'HEADER' || up === 'TEXT') return fields ? undefined : { part, text: up };
  if (up === 'MIME') return part.length && !fields ? { part, text: 'MIME' } : undefined;
  if ((up === 'HEADER.FIELDS' || up === 'HEADER.FIELDS.NOT') && fields && fields.length) return { part, text: up, fields };
  return undefined;
}

function parsePartial(s: string): { offset: number; length?: number } | undefined | null {
  if (s === '') return undefined;
  const m = /^<(\d+)\.([1-9]\d*)>$/.exec(s);
  if (!m) return null;
  return { offset: Number(m[1]), length: Number(m[2]) };
}

/** The FETCH item list; BAD with Dovecot's words otherwise. */
export function parseFetchItems(a: ImapArg | undefined): Item[] {
  if (!a) throw new BadCommand('Missing arguments.');
  let list: ImapArg[];
  if (a.type === 'atom' && MACROS[a.value.toUpperCase()]) {
    return (MACROS[a.value.toUpperCase()] as string[]).map((k) => ({ kind: k as Kind, echo: k }));
  }
  if (a.type === 'list') list = a.items;
  else list = [a];
  if (list.length === 0) throw new BadCommand('Invalid arguments.');
  const items: Item[] = [];
  for (let i = 0; i < list.length; i++) {
    const x = list[i] as ImapArg;
    const v = atomArg(x);
    if (v === undefined) throw new BadCommand('Invalid arguments.');
    const up = v.toUpperCase();
    if (SIMPLE.has(up)) {
      items.push({ kind: up as Kind, echo: up });
      continue;
    }
    if (up === 'SNIPPET' || up === 'PREVIEW') {
      items.push({ kind: up, echo: up });
      if (list[i + 1]?.type === 'list') i++;
      continue;
    }
    const m = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[(.*)$/.exec(up);
    if (!m) throw new BadCommand(`Unknown parameter: ${v}`);
    const base = m[1] as string;
    let inner = v.slice(base.length + 1);
    let fields: string[] | undefined;
    let tail: string;
    const close = inner.indexOf(']');
    if (close >= 0) {
      tail = inner.slice(close + 1);
      inner = inner.slice(0, close);
    } else {
      const l = list[i + 1];
      const after = atomArg(list[i + 2]);
      if (l?.type !== 'list' || after === undefined || !after.startsWith(']')) throw new BadCommand(`Invalid ${base} parameter`);
      fields = l.items.map((f) => {
        const t = f.type === 'atom' ? f.value : f.type === 'string' ? f.value.toString('latin1') : undefined;
        if (t === undefined) throw new BadCommand('Invalid BODY[..] parameter: Header fields list contains non-strings');
        return t.toUpperCase();
      });
      tail = after.slice(1);
      inner = inner.trimEnd();
      i += 2;
    }
    const binary = base.startsWith('BINARY');
    const spec = parseSection(inner, fields, binary);
    if (!spec) throw new BadCommand(`Invalid ${base.replace('.PEEK', '')}[..] section`);
    const partial = parsePartial(tail);
    if (partial === null || (partial && base === 'BINARY.SIZE')) throw new BadCommand(`Invalid ${base} parameter`);
    if (partial) spec.partial = partial;
    const name = base.replace('.PEEK', '');
    const secText = inner.toUpperCase() + (fields ? ` (${fields.join(' ')})` : '');
    const echo = `${name}[${secText}]${partial ? `<${partial.offset}>` : ''}`;
    items.push({ kind: base === 'BINARY.SIZE' ? 'BINARY.SIZE' : binary ? 'BINARY' : 'SECTION', echo, spec, peek: base.endsWith('.PEEK') });
  }
  return items;
}

function literalOf(data: Buffer, eight = false): Buffer[] {
  return [Buffer.from(`${eight ? '~' : ''}{${data.length}}\r\n`), data];
}

export async function cmdFetch(s: ImapSession, c: Cmd): Promise<string> {
  const sel = s.selected;
  if (!sel) throw new BadCommand('No mailbox selected.');
  if (c.args.length < 2) throw new BadCommand('Missing arguments.');
  const seqs = seqsOf(sel, c.args[0], c.uid, s.savedSearch);
  const items = parseFetchItems(c.args[1]);
  let changedSince: number | undefined;
  if (c.args[2]) {
    const mods = c.args[2];
    if (mods.type !== 'list') throw new BadCommand('Invalid arguments.');
    for (let i = 0; i < mods.items.length; i++) {
      const k = atomArg(mods.items[i])?.toUpperCase();
      if (k === 'CHANGEDSINCE') {
        const n = atomArg(mods.items[++i]);
        if (!n || !/^\d+$/.test(n)) throw new BadCommand('Invalid CHANGEDSINCE modseq.');
        changedSince = Number(n);
      } else if (k === 'VANISHED') {
        if (!c.uid) throw new BadCommand('VANISHED used without UID FETCH');
      } else throw new BadCommand(`Unknown FETCH modifier: ${k ?? ''}`);
    }
  }
  if (changedSince !== undefined || items.some((i) => i.kind === 'MODSEQ')) s.enabled.add('CONDSTORE');
  if (c.uid && !items.some((i) => i.kind === 'UID')) items.unshift({ kind: 'UID', echo: 'UID' });
  else if (c.uid) {
    const u = items.findIndex((i) => i.kind === 'UID');
    items.unshift(...items.splice(u, 1));
  }
  if (changedSince !== undefined && !items.some((i) => i.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ', echo: 'MODSEQ' });
  const needsBody = items.some((i) => !['FLAGS', 'UID', 'INTERNALDATE', 'MODSEQ', 'SAVEDATE', 'RFC822.SIZE'].includes(i.kind));
  const setsSeen = !sel.readOnly && items.some((i) => (i.kind === 'SECTION' || i.kind === 'BINARY') && !i.peek) || (!sel.readOnly && items.some((i) => i.kind === 'RFC822' || i.kind === 'RFC822.TEXT'));
  let failure: string | undefined;
  for (const seq of seqs) {
    const uid = sel.uidOf(seq);
    let rec = sel.record(uid);
    if (!rec) continue;
    if (changedSince !== undefined && rec.modseq <= changedSince) continue;
    let flagsChanged = false;
    if (setsSeen && !rec.flags.includes('\\Seen')) {
      const upd = await sel.box.setFlags([uid], 'add', ['\\Seen']);
      if (upd[0]) {
        rec = upd[0];
        flagsChanged = true;
      }
    }
    let raw: Buffer | undefined;
    let root: ReturnType<typeof parseMessage> | undefined;
    if (needsBody) {
      try {
        raw = await sel.box.read(uid);
      } catch {
        failure = 'NO [EXPUNGEISSUED] Some messages were also expunged.';
        continue;
      }
      root = parseMessage(raw);
    }
    const parts: Buffer[] = [Buffer.from(`* ${seq} FETCH (`)];
    const add = (s2: string | Buffer, sep = true) => {
      if (sep && parts.length > 1) parts.push(Buffer.from(' '));
      parts.push(typeof s2 === 'string' ? Buffer.from(s2, 'utf8') : s2);
    };
    const flagsRequested = items.some((i) => i.kind === 'FLAGS');
    if (flagsChanged && !flagsRequested) add(`FLAGS ${sel.flagList(rec)}`);
    for (const it of items) {
      switch (it.kind) {
        case 'FLAGS':
          add(`FLAGS ${sel.flagList(rec)}`);
          break;
        case 'UID':
          add(`UID ${uid}`);
          break;
        case 'INTERNALDATE':
          add(`INTERNALDATE "${formatInternalDate(rec.internalDate)}"`);
          break;
        case 'RFC822.SIZE':
          add(`RFC822.SIZE ${rec.vsize}`);
          break;
        case 'MODSEQ':
          add(`MODSEQ (${rec.modseq})`);
          break;
        case 'SAVEDATE':
          add('SAVEDATE NIL');
          break;
        case 'ENVELOPE':
          add('ENVELOPE ');
          add(envelope(root!, raw!), false);
          break;
        case 'BODY':
          add('BODY ');
          add(bodyStructure(root!, raw!, false), false);
          break;
        case 'BODYSTRUCTURE':
          add('BODYSTRUCTURE ');
          add(bodyStructure(root!, raw!, true), false);
          break;
        case 'RFC822':
        case 'RFC822.HEADER':
        case 'RFC822.TEXT': {
          const spec: SectionSpec = it.kind === 'RFC822' ? { part: [] } : { part: [], text: it.kind === 'RFC822.HEADER' ? 'HEADER' : 'TEXT' };
          const data = fetchSection(raw!, root!, spec);
          if (it.kind === 'RFC822.HEADER') {
            s.stats.fetchHdrCount++;
            s.stats.fetchHdrBytes += data.length;
          } else {
            s.stats.fetchBodyCount++;
            s.stats.fetchBodyBytes += data.length;
          }
          add(`${it.kind} `);
          for (const b of literalOf(data)) add(b, false);
          break;
        }
        case 'SECTION': {
          const data = fetchSection(raw!, root!, it.spec!);
          if (it.spec?.text?.startsWith('HEADER')) {
            s.stats.fetchHdrCount++;
            s.stats.fetchHdrBytes += data.length;
          } else {
            s.stats.fetchBodyCount++;
            s.stats.fetchBodyBytes += data.length;
          }
          add(`${it.echo} `);
          for (const b of literalOf(data)) add(b, false);
          break;
        }
        case 'BINARY': {
          try {
            const r = fetchBinaryContent(raw!, root!, it.spec!);
            add(`${it.echo} `);
            for (const b of literalOf(r.data, r.literal8)) add(b, false);
          } catch (e) {
            if (e instanceof BinaryError) throw new TaggedReply(e.response);
            throw e;
          }
          break;
        }
        case 'BINARY.SIZE':
          try {
            add(`${it.echo} ${binarySize(raw!, root!, it.spec?.part ?? [])}`);
          } catch (e) {
            if (e instanceof BinaryError) throw new TaggedReply(e.response);
            throw e;
          }
          break;
        case 'SNIPPET':
        case 'PREVIEW': {
          const text = imapString(snippet(raw!, root!));
          add(it.kind === 'SNIPPET' ? 'SNIPPET (FUZZY ' : 'PREVIEW ');
          add(text, false);
          if (it.kind === 'SNIPPET') add(')', false);
          break;
        }
      }
    }
    parts.push(Buffer.from(')\r\n'));
    s.out.write(Buffer.concat(parts));
    if (flagsChanged) {
      sel.noteFlags(rec);
      if (s.condstore && !items.some((i) => i.kind === 'MODSEQ')) s.out.line(`* ${seq} FETCH (MODSEQ (${rec.modseq}))`);
    }
  }
  if (failure) return failure;
  return 'OK Fetch completed.';
}
