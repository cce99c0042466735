/**
 * Differential: the FETCH data items of imap/mime against the real Dovecot
 * 2.3 imap on the fixture corpus fixtures/messages/imap/. One EXAMINE
 * session asks, one item per command, for ENVELOPE, BODY, BODYSTRUCTURE,
 * SNIPPET, RFC822.SIZE, BODY.PEEK[...] of every section our parser finds
 * (and a few that do not exist), BINARY.PEEK[...] and BINARY.SIZE[...];
 * each untagged FETCH must be byte-equal to what the library produces.
 * Only the timing in tagged replies ("(0.001 + 0.000 secs)") is normalised.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type BinaryContent,
  BinaryError,
  binarySize,
  type MimePart,
  bodyStructure,
  envelope,
  fetchBinaryContent,
  fetchSection,
  findPart,
  imapString,
  messageSize,
  parseMessage,
  snippet,
} from '../../src/imap/mime/index.js';
import { makePreauthHome, realImapAvailable, runPreauthImap, splitResponses } from '../helpers/dovecot-imap-preauth.js';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/messages/imap');
const files = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.eml'))
  .sort();
const raws = files.map((f) => readFileSync(join(FIXTURES, f)));

/** Section paths of every part, in the numbering of RFC 3501 §6.4.5. */
function sectionPaths(msg: MimePart, prefix: number[], out: number[][]): number[][] {
  if (msg.multipart) {
    msg.children.forEach((c, i) => {
      const p = [...prefix, i + 1];
      out.push(p);
      if (c.multipart) sectionPaths(c, p, out);
      else if (c.rfc822) sectionPaths(c.children[0]!, p, out);
    });
  } else {
    const p = [...prefix, 1];
    out.push(p);
    if (msg.rfc822 && msg.children[0]) sectionPaths(msg.children[0], p, out);
  }
  return out;
}

/**
 * Known differences, not compared (see the imap-msg report): Dovecot sizes a
 * message/rfc822 part's BINARY.SIZE from its binary-part cache (227 where
 * BINARY[2] itself is 233 bytes).
 */
const KNOWN_DIFFERENCES = new Set(['04-nested-rfc822.eml BINARY.SIZE[2]']);

interface Item {
  tag: string;
  command: string;
  expected: Buffer;
}

function literalItem(name: string, data: Buffer, literal8 = false): Buffer {
  const tilde = literal8 ? '~' : '';
  return Buffer.concat([Buffer.from(`${name} ${tilde}{${data.length}}\r\n`, 'latin1'), data]);
}

function itemsFor(seq: number, raw: Buffer): Item[] {
  const root = parseMessage(raw);
  const items: Item[] = [];
  let n = 0;
  const add = (command: string, name: string, value: Buffer) => {
    items.push({
      tag: `m${seq}x${n++}`,
      command,
      expected: Buffer.concat([Buffer.from(`* ${seq} FETCH (${name} `, 'latin1'), value, Buffer.from(')\r\n')]).subarray(0),
    });
  };
  const addLiteral = (command: string, name: string, data: Buffer, binary = false) => {
    items.push({
      tag: `m${seq}x${n++}`,
      command,
      expected: Buffer.concat([Buffer.from(`* ${seq} FETCH (`), literalItem(name, data, binary), Buffer.from(')\r\n')]),
    });
  };
  add('ENVELOPE', 'ENVELOPE', envelope(root, raw));
  add('BODYSTRUCTURE', 'BODYSTRUCTURE', bodyStructure(root, raw, true));
  add('BODY', 'BODY', bodyStructure(root, raw, false));
  add('RFC822.SIZE', 'RFC822.SIZE', Buffer.from(String(messageSize(raw, root))));
  add('SNIPPET', 'SNIPPET', Buffer.concat([Buffer.from('(FUZZY '), imapString(snippet(raw, root)), Buffer.from(')')]));
  const sections: { sec: string; spec: Parameters<typeof fetchSection>[2] }[] = [
    { sec: '', spec: { part: [] } },
    { sec: 'HEADER', spec: { part: [], text: 'HEADER' } },
    { sec: 'TEXT', spec: { part: [], text: 'TEXT' } },
    { sec: 'HEADER.FIELDS (From To Subject)', spec: { part: [], text: 'HEADER.FIELDS', fields: ['From', 'To', 'Subject'] } },
    { sec: 'HEADER.FIELDS.NOT (From Subject)', spec: { part: [], text: 'HEADER.FIELDS.NOT', fields: ['From', 'Subject'] } },
    { sec: '9', spec: { part: [9] } },
    { sec: '1.9', spec: { part: [1, 9] } },
  ];
  // partial fetches: offsets count CRLF line ends; an offset past the end gives {0}
  addLiteral('BODY.PEEK[]<5.10>', 'BODY[]<5>', fetchSection(raw, root, { part: [], partial: { offset: 5, length: 10 } }));
  addLiteral('BODY.PEEK[TEXT]<3.7>', 'BODY[TEXT]<3>', fetchSection(raw, root, { part: [], text: 'TEXT', partial: { offset: 3, length: 7 } }));
  addLiteral('BODY.PEEK[1]<100000.5>', 'BODY[1]<100000>', fetchSection(raw, root, { part: [1], partial: { offset: 100000, length: 5 } }));
  for (const p of sectionPaths(root, [], [])) {
    const s = p.join('.');
    sections.push({ sec: s, spec: { part: p } }, { sec: `${s}.MIME`, spec: { part: p, text: 'MIME' } });
    const part = findPart(root, p);
    if (part?.rfc822) {
      sections.push({ sec: `${s}.HEADER`, spec: { part: p, text: 'HEADER' } }, { sec: `${s}.TEXT`, spec: { part: p, text: 'TEXT' } });
    }
  }
  for (const { sec, spec } of sections) {
    addLiteral(`BODY.PEEK[${sec}]`, `BODY[${sec.replace(/ \(.*\)$/, (m) => m.toUpperCase())}]`, fetchSection(raw, root, spec));
    if (spec.text === undefined) {
      let data: BinaryContent | BinaryError;
      try {
        data = fetchBinaryContent(raw, root, spec);
      } catch (e) {
        if (!(e instanceof BinaryError)) throw e;
        data = e;
      }
      const tag = `m${seq}x${n++}`;
      if (data instanceof BinaryError) items.push({ tag, command: `BINARY.PEEK[${sec}]`, expected: Buffer.from(`${tag} ${data.response}`) });
      else {
        items.push({ tag, command: `BINARY.PEEK[${sec}]`, expected: Buffer.concat([Buffer.from(`* ${seq} FETCH (`), literalItem(`BINARY[${sec}]`, data.data, data.literal8), Buffer.from(')\r\n')]) });
      }
      let size: number | BinaryError;
      try {
        size = binarySize(raw, root, spec.part);
      } catch (e) {
        if (!(e instanceof BinaryError)) throw e;
        size = e;
      }
      if (size instanceof BinaryError) {
        const t = `m${seq}x${n++}`;
        items.push({ tag: t, command: `BINARY.SIZE[${sec}]`, expected: Buffer.from(`${t} ${size.response}`) });
      } else add(`BINARY.SIZE[${sec}]`, `BINARY.SIZE[${sec}]`, Buffer.from(String(size)));
    }
  }
  return items;
}

interface Transcript {
  /** Untagged FETCH responses by "* n FETCH (ITEM" (Dovecot runs pipelined FETCHes in parallel, so order is lost). */
  untagged: Map<string, Buffer[]>;
  tagged: Map<string, string>;
}

function itemKey(r: Buffer): string {
  const s = r.toString('latin1', 0, Math.min(r.length, 200));
  const m = /^\* \d+ FETCH \([A-Z0-9.]+(\[[^\]]*\])?/.exec(s);
  return m ? m[0] : s;
}

function parseTranscript(out: Buffer): Transcript {
  const t: Transcript = { untagged: new Map(), tagged: new Map() };
  for (const r of splitResponses(out)) {
    if (r[0] === 0x2a) {
      const k = itemKey(r);
      t.untagged.set(k, [...(t.untagged.get(k) ?? []), r]);
      continue;
    }
    const line = r.toString('latin1');
    const tag = line.slice(0, line.indexOf(' '));
    t.tagged.set(tag, line.replace(/ \(\d+\.\d+ \+ \d+\.\d+(?: \+ \d+\.\d+)? secs\)/, '').trimEnd());
  }
  return t;
}

describe('imap/mime against Dovecot 2.3 FETCH', { skip: realImapAvailable() ? false : 'real Dovecot imap binary absent or not root' }, () => {
  const perMessage = raws.map((raw, i) => itemsFor(i + 1, raw));
  let transcript: Transcript;

  test('dovecot session runs', async () => {
    const home = makePreauthHome(raws.map((raw) => ({ raw })));
    try {
      const cmds = ['a EXAMINE INBOX'];
      perMessage.forEach((items, i) => {
        for (const it of items) cmds.push(`${it.tag} FETCH ${i + 1} (${it.command})`);
      });
      cmds.push('z LOGOUT');
      transcript = parseTranscript(await runPreauthImap(home, cmds));
      assert.ok(transcript.tagged.get('z')?.startsWith('z OK'));
    } finally {
      home.cleanup();
    }
  });

  files.forEach((file, i) => {
    test(`${file}: every item byte-equal`, () => {
      const diffs: string[] = [];
      for (const it of perMessage[i]!) {
        if (KNOWN_DIFFERENCES.has(`${file} ${it.command}`)) continue;
        const tagged = transcript.tagged.get(it.tag);
        assert.ok(tagged, `no reply for ${it.tag}`);
        if (it.expected.toString('latin1').startsWith(`${it.tag} `)) {
          // Dovecot ends tagged texts with "(timing).": compare without the final dot
          if (tagged.replace(/\.$/, '') !== it.expected.toString('latin1').trimEnd().replace(/\.$/, '')) diffs.push(`${it.command}\n ours: ${it.expected}\n dovecot: ${tagged}`);
          continue;
        }
        const theirs = transcript.untagged.get(itemKey(it.expected)) ?? [];
        if (!theirs.some((r) => r.equals(it.expected))) {
          diffs.push(`${it.command}\n ours:    ${JSON.stringify(it.expected.toString('latin1'))}\n dovecot: ${JSON.stringify(theirs.map((r) => r.toString('latin1')))}`);
        }
      }
      assert.deepEqual(diffs, []);
    });
  });
});
