/**
 * test/helpers/maildir-snapshot.ts: a comparable picture of a mail root
 * written by Dovecot or by Postern: for every Maildir folder, its messages
 * in UID order (directory, flags, ,S=/,W= sizes, content with the per-run
 * parts of Received masked), the uidlist's shape (version, record
 * extensions, G references resolved to UIDs), dovecot-keywords,
 * subscriptions, maildirsize and maildirfolder. File names, times, pids,
 * GUIDs and UIDVALIDITY values are masked; Dovecot's binary index files
 * (dovecot.index*, dovecot.list.index*, dovecot.mailbox.log) are ignored.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const INDEX_FILE = /^dovecot\.(index|list\.index|mailbox\.log)/;

export function maskMessage(text: string): string {
  return text
    .replace(/(\n\tid )[A-Za-z0-9+/]{22}((?::[TR]\d+)*)/g, '$1<SID>$2')
    .replace(/; [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\n/g, '; <DATE>\n');
}

function folderSnapshot(dir: string): string[] {
  const out: string[] = [];
  const files = new Map<string, { dir: string; name: string }>();
  for (const d of ['new', 'cur']) {
    if (!existsSync(join(dir, d))) continue;
    for (const n of readdirSync(join(dir, d)).sort()) files.set(n.split(':')[0] as string, { dir: d, name: n });
  }
  const uidlistPath = join(dir, 'dovecot-uidlist');
  const baseToUid = new Map<string, string>();
  if (existsSync(uidlistPath)) {
    const lines = readFileSync(uidlistPath, 'utf8').split('\n').filter(Boolean);
    const hdr = (lines[0] ?? '').replace(/V\d+/, 'V<uv>').replace(/G[0-9a-f]{32}/, 'G<guid>');
    out.push(`uidlist header: ${hdr.replace(/ N\d+/, ' N<n>')}`);
    for (const l of lines.slice(1)) {
      const m = /^(\d+) (.*?):(.*)$/.exec(l);
      if (m) baseToUid.set(m[3] as string, m[1] as string);
    }
    for (const l of lines.slice(1)) {
      const m = /^(\d+) (.*?):(.*)$/.exec(l);
      if (!m) {
        out.push(`uidlist bad line: ${l}`);
        continue;
      }
      const [, uid, extText, base] = m as unknown as [string, string, string, string];
      const ext = extText
        .trim()
        .split(' ')
        .filter(Boolean)
        .map((e) => (e[0] === 'G' ? `G<uid ${baseToUid.get(e.slice(1)) ?? '?'}>` : e));
      const f = files.get(base);
      if (!f) {
        out.push(`uid ${uid}${ext.length ? ` ${ext.join(' ')}` : ''}: (expunged)`);
        continue;
      }
      files.delete(base);
      const flags = f.name.includes(':') ? f.name.slice(f.name.indexOf(':')) : '';
      const sizes = (/(,S=\d+)?(,W=\d+)?$/.exec(base)?.[0] ?? '').trim();
      const content = maskMessage(readFileSync(join(dir, f.dir, f.name), 'latin1'));
      out.push(`uid ${uid}${ext.length ? ` ${ext.join(' ')}` : ''}: ${f.dir}/…${sizes}${flags}\n${content}`);
    }
  }
  for (const [, f] of files) out.push(`no uid: ${f.dir}/${f.name.replace(/^\d+\.M\d+P\d+\.[^,:]*/, '<base>')}`);
  for (const extra of ['dovecot-keywords', 'maildirfolder', 'maildirsize', 'subscriptions']) {
    const p = join(dir, extra);
    if (existsSync(p) && statSync(p).isFile()) out.push(`${extra}: ${JSON.stringify(readFileSync(p, 'utf8'))}`);
  }
  return out;
}

/** Snapshot every Maildir under `root` (a folder is a directory with cur/). */
export function maildirSnapshot(root: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const walk = (dir: string) => {
    if (existsSync(join(dir, 'cur'))) out[relative(root, dir) || '.'] = folderSnapshot(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || ['cur', 'new', 'tmp'].includes(e.name) || INDEX_FILE.test(e.name)) continue;
      walk(join(dir, e.name));
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}
