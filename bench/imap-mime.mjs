#!/usr/bin/env node
// bench/imap-mime.mjs: FETCH 1:* (ENVELOPE BODYSTRUCTURE) work on a cold Maildir,
// Postern's imap/mime library vs the real Dovecot imap (pre-authenticated, no
// index cache yet, so it parses every message), reported as a ratio.
// Dovecot's time includes its process start (measured separately and subtracted);
// ours includes reading each file. Usage: node bench/imap-mime.mjs [copies] (after `npm run build`)
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { makePreauthHome, runPreauthImap } = await import(join(repo, 'dist/test/helpers/dovecot-imap-preauth.js'));
const mime = await import(join(repo, 'dist/src/imap/mime/index.js'));

const copies = Number(process.argv[2] ?? 100);
const dir = join(repo, 'fixtures/messages/imap');
const corpus = readdirSync(dir)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map((f) => readFileSync(join(dir, f)));
// one larger message: 20 parts of 20 KB text each
let big = 'MIME-Version: 1.0\nSubject: big\nContent-Type: multipart/mixed; boundary=BIG\n\n';
for (let i = 0; i < 20; i++) big += `--BIG\nContent-Type: text/plain\n\n${'lorem ipsum dolor sit amet '.repeat(760)}\n`;
big += '--BIG--\n';
const raws = [];
for (let i = 0; i < copies; i++) raws.push(...corpus, Buffer.from(big));
const bytes = raws.reduce((n, r) => n + r.length, 0);

const home = makePreauthHome(raws.map((raw) => ({ raw })));
const emptyHome = makePreauthHome([{ raw: 'Subject: x\n\nx\n' }]);
const t0 = process.hrtime.bigint();
await runPreauthImap(emptyHome, ['a SELECT INBOX', 'b FETCH 1:* (ENVELOPE BODYSTRUCTURE)', 'c LOGOUT'], 600_000);
const startup = Number(process.hrtime.bigint() - t0) / 1e6;
const t1 = process.hrtime.bigint();
const out = await runPreauthImap(home, ['a SELECT INBOX', 'b FETCH 1:* (ENVELOPE BODYSTRUCTURE)', 'c LOGOUT'], 600_000);
const real = Number(process.hrtime.bigint() - t1) / 1e6 - startup;
if (!out.includes('\r\nb OK')) throw new Error(`dovecot FETCH failed: ${out.subarray(-300)}`);

const files = readdirSync(join(home.home, 'Maildir/cur')).map((f) => join(home.home, 'Maildir/cur', f));
const t2 = process.hrtime.bigint();
let outBytes = 0;
let readMs = 0;
for (const f of files) {
  const r0 = performance.now();
  const raw = readFileSync(f);
  readMs += performance.now() - r0;
  const root = mime.parseMessage(raw);
  outBytes += mime.envelope(root, raw).length + mime.bodyStructure(root, raw, true).length;
}
const ours = Number(process.hrtime.bigint() - t2) / 1e6;
home.cleanup();
emptyHome.cleanup();
console.log(`FETCH (ENVELOPE BODYSTRUCTURE) on ${raws.length} messages, ${(bytes / 1e6).toFixed(1)} MB, cold`);
console.log(`  real Dovecot: ${real.toFixed(0)} ms (process start ${startup.toFixed(0)} ms subtracted; includes SELECT indexing)`);
console.log(`  Postern lib:  ${ours.toFixed(0)} ms (${((bytes / 1e6) / (ours / 1000)).toFixed(0)} MB/s, ${outBytes} bytes of items)`);
console.log(`  (of which reading files: ${readMs.toFixed(0)} ms)`);
console.log(`  ratio (Postern / real): ${(ours / real).toFixed(2)}`);
