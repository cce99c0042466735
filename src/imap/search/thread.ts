/**
 * imap/search/thread.ts: THREAD (RFC 5256 §3): ORDEREDSUBJECT, REFERENCES
 * and REFS (draft-ietf-morg-inthread: REFERENCES without subject merging,
 * threads ordered by their newest message), written as Dovecot writes the
 * `* THREAD` response. Numbers are sequence numbers or UIDs, as asked.
 */
import { firstHeader, parseHeaderOnly, sortDate } from './sort.js';
import { baseSubject } from './subject.js';

export interface ThreadMessage {
  seq: number;
  uid: number;
  internalDate: Date;
  raw(): Promise<Buffer> | Buffer;
}

export type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES' | 'REFS';

interface Info {
  num: number;
  seq: number;
  date: number;
  subject: string;
  replyOrForward: boolean;
  messageId: string | null;
  references: string[];
}

const MSGID = /<([^<>\s@]+@[^<>\s]+)>/g;

function msgIds(v: string | null): string[] {
  if (v === null) return [];
  return [...v.replace(/\([^)]*\)/g, '').matchAll(MSGID)].map((m) => m[1]!);
}

async function info(m: ThreadMessage, useUid: boolean): Promise<Info> {
  const h = parseHeaderOnly(await m.raw());
  const subj = firstHeader(h, 'subject');
  const b = baseSubject(subj ?? '');
  let refs = msgIds(firstHeader(h, 'references'));
  if (refs.length === 0) refs = msgIds(firstHeader(h, 'in-reply-to')).slice(0, 1);
  const dateHeader = firstHeader(h, 'date');
  return {
    num: useUid ? m.uid : m.seq,
    seq: m.seq,
    date: dateHeader === null ? Math.floor(m.internalDate.getTime() / 1000) : sortDate(h, m.internalDate),
    subject: b.subject,
    replyOrForward: b.replyOrForward,
    messageId: msgIds(firstHeader(h, 'message-id'))[0] ?? null,
    references: refs,
  };
}

interface Node {
  msg: Info | null;
  parent: Node | null;
  children: Node[];
}

function isAncestor(a: Node, b: Node): boolean {
  for (let p: Node | null = b; p !== null; p = p.parent) if (p === a) return true;
  return false;
}

function unlink(n: Node): void {
  if (n.parent) {
    const i = n.parent.children.indexOf(n);
    if (i >= 0) n.parent.children.splice(i, 1);
    n.parent = null;
  }
}

function link(parent: Node, child: Node): void {
  unlink(child);
  child.parent = parent;
  parent.children.push(child);
}

function firstMsg(n: Node): Info | null {
  if (n.msg) return n.msg;
  for (const c of n.children) {
    const m = firstMsg(c);
    if (m) return m;
  }
  return null;
}

function nodeDate(n: Node): number {
  return firstMsg(n)?.date ?? 0;
}

function cmpNodes(a: Node, b: Node): number {
  const d = nodeDate(a) - nodeDate(b);
  if (d !== 0) return d;
  return (firstMsg(a)?.seq ?? 0) - (firstMsg(b)?.seq ?? 0);
}

function sortTree(nodes: Node[]): void {
  for (const n of nodes) sortTree(n.children);
  nodes.sort(cmpNodes);
}

/** Prune dummies (RFC 5256 §3 step 4): drop empty ones, promote children, except several children at the root. */
function prune(nodes: Node[], atRoot: boolean): Node[] {
  const out: Node[] = [];
  for (const n of nodes) {
    n.children = prune(n.children, false);
    for (const c of n.children) c.parent = n;
    if (n.msg !== null) out.push(n);
    else if (n.children.length === 0) continue;
    else if (!atRoot || n.children.length === 1) {
      for (const c of n.children) c.parent = n.parent;
      out.push(...n.children);
    } else out.push(n);
  }
  return out;
}

function buildReferences(infos: Info[], mergeSubjects: boolean): Node[] {
  const table = new Map<string, Node>();
  const all: Node[] = [];
  const get = (id: string): Node => {
    let n = table.get(id);
    if (!n) {
      n = { msg: null, parent: null, children: [] };
      table.set(id, n);
      all.push(n);
    }
    return n;
  };
  for (const m of infos) {
    let self: Node;
    const existing = m.messageId !== null ? table.get(m.messageId) : undefined;
    if (existing && existing.msg === null) {
      existing.msg = m;
      self = existing;
    } else {
      self = { msg: m, parent: null, children: [] };
      all.push(self);
      if (m.messageId !== null && !existing) table.set(m.messageId, self);
    }
    let prev: Node | null = null;
    for (const id of m.references) {
      const n = get(id);
      if (prev !== null && n.parent === null && n !== prev && !isAncestor(n, prev)) link(prev, n);
      prev = n;
    }
    if (prev !== null && prev !== self && !isAncestor(self, prev)) link(prev, self);
    else if (prev === null || prev === self) unlink(self);
  }
  let roots = prune(
    all.filter((n) => n.parent === null),
    true,
  );
  for (const r of roots) r.parent = null;
  sortTree(roots);
  if (mergeSubjects) roots = groupBySubject(roots);
  sortTree(roots);
  return roots;
}

/** RFC 5256 §3 step 5: gather root threads with the same base subject. */
function groupBySubject(roots: Node[]): Node[] {
  const subjOf = (n: Node) => firstMsg(n)?.subject ?? '';
  const rfOf = (n: Node) => (n.msg ? n.msg.replyOrForward : false);
  const table = new Map<string, Node>();
  for (const r of roots) {
    const s = subjOf(r);
    if (s === '') continue;
    const old = table.get(s);
    if (!old || (r.msg === null && old.msg !== null) || (old.msg !== null && rfOf(old) && r.msg !== null && !rfOf(r))) table.set(s, r);
  }
  const out: Node[] = [];
  const replaced = new Map<Node, Node>();
  for (const r of roots) {
    const s = subjOf(r);
    let t = s === '' ? undefined : table.get(s);
    if (t !== undefined) t = replaced.get(t) ?? t;
    if (t === undefined || t === r) {
      out.push(r);
      continue;
    }
    if (t.msg === null && r.msg === null) {
      for (const c of [...r.children]) link(t, c);
    } else if (t.msg === null) link(t, r);
    else if (r.msg !== null && rfOf(r) && !rfOf(t)) link(t, r);
    else {
      const dummy: Node = { msg: null, parent: null, children: [] };
      const idx = out.indexOf(t);
      link(dummy, t);
      link(dummy, r);
      if (idx >= 0) out[idx] = dummy;
      replaced.set(t, dummy);
      table.set(s, dummy);
    }
  }
  return out;
}

function newestDate(n: Node): number {
  let d = n.msg?.date ?? 0;
  for (const c of n.children) d = Math.max(d, newestDate(c));
  return d;
}

/** Dovecot's writing of a REFERENCES/REFS tree. */
function writeTree(nodes: Node[], root: boolean): string {
  if (nodes.length === 0) return '';
  if (nodes.length === 1 && !root) {
    const n = nodes[0]!;
    const head = n.msg ? String(n.msg.num) : '';
    return n.children.length > 0 ? `${head} ${writeTree(n.children, false)}` : head;
  }
  let out = '';
  for (const n of nodes) {
    if (n.children.length === 0) out += `(${n.msg?.num ?? ''})`;
    else out += `(${n.msg ? `${n.msg.num} ` : ''}${writeTree(n.children, false)})`;
  }
  return out;
}

/** The `* THREAD ...` line (with CRLF) for `msgs`, the messages that matched the search, in sequence order. */
export async function threadMessages(algorithm: ThreadAlgorithm, msgs: readonly ThreadMessage[], useUid = false): Promise<string> {
  const infos = await Promise.all(msgs.map((m) => info(m, useUid)));
  if (algorithm === 'ORDEREDSUBJECT') {
    const sorted = [...infos].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.date - b.date || a.seq - b.seq));
    const threads: { date: number; first: number; nums: number[] }[] = [];
    let prev: string | null = null;
    for (const m of sorted) {
      if (prev !== m.subject || threads.length === 0) threads.push({ date: m.date, first: m.num, nums: [] });
      threads[threads.length - 1]!.nums.push(m.num);
      prev = m.subject;
    }
    threads.sort((a, b) => a.date - b.date || a.first - b.first);
    let out = '* THREAD ';
    for (const t of threads) {
      if (t.nums.length === 1) out += `(${t.nums[0]})`;
      else if (t.nums.length === 2) out += `(${t.nums[0]} ${t.nums[1]})`;
      else out += `(${t.nums[0]} ${t.nums.slice(1).map((n) => `(${n})`).join('')})`;
    }
    return out + '\r\n';
  }
  let roots = buildReferences(infos, algorithm === 'REFERENCES');
  if (algorithm === 'REFS') roots = [...roots].sort((a, b) => newestDate(a) - newestDate(b) || cmpNodes(a, b));
  return `* THREAD ${writeTree(roots, true)}\r\n`;
}
