/**
 * install/plan.ts: put Postern's commands where an existing Postfix +
 * Dovecot installation has its own (/usr/sbin/postqueue, /usr/bin/doveadm,
 * /usr/lib/dovecot/dovecot-lda, …) and take them away again.
 *
 * Each system path becomes a symlink to bin/<name> of this checkout; what
 * was there (file or symlink) is renamed to PATH.postern-orig in the same
 * directory (a rename never crosses a filesystem, so it cannot half-fail).
 * A manifest under ROOT/var/lib/postern/install.json records every step;
 * uninstall reverses exactly those steps. Nothing is overwritten that could
 * not be restored: a leftover backup next to a file that is not ours stops
 * the install, and a path that is no longer our link (a package upgrade put
 * a new binary there) is left alone on uninstall, with its backup kept.
 * systemd units for both halves are written under ROOT/etc/systemd/system.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Where Debian's postfix and dovecot-core packages install each command. */
export const SYSTEM_PATHS: ReadonlyArray<[name: string, path: string]> = [
  ['postfix', '/usr/sbin/postfix'],
  ['postconf', '/usr/sbin/postconf'],
  ['postmap', '/usr/sbin/postmap'],
  ['postalias', '/usr/sbin/postalias'],
  ['postqueue', '/usr/sbin/postqueue'],
  ['postsuper', '/usr/sbin/postsuper'],
  ['postcat', '/usr/sbin/postcat'],
  ['postdrop', '/usr/sbin/postdrop'],
  ['postlog', '/usr/sbin/postlog'],
  ['sendmail', '/usr/sbin/sendmail'],
  ['sendmail', '/usr/lib/sendmail'],
  ['mailq', '/usr/bin/mailq'],
  ['newaliases', '/usr/bin/newaliases'],
  ['doveadm', '/usr/bin/doveadm'],
  ['doveconf', '/usr/bin/doveconf'],
  ['dovecot', '/usr/sbin/dovecot'],
  ['dovecot-lda', '/usr/lib/dovecot/dovecot-lda'],
];

export const BACKUP_SUFFIX = '.postern-orig';
export const MANIFEST = '/var/lib/postern/install.json';
export const UNIT_DIR = '/etc/systemd/system';

export interface InstallOptions {
  /** Filesystem root to install under (tests, chroots); default "/". */
  root: string;
  /** This checkout (its bin/ holds the commands). */
  repo: string;
  /** The node binary the units run. */
  node: string;
}

export type Step =
  | { kind: 'link'; path: string; target: string; backup: string | undefined }
  | { kind: 'unit'; path: string; content: string };

export interface Manifest {
  version: 1;
  repo: string;
  steps: Step[];
}

/** A problem that stops the whole install before anything changes. */
export class InstallError extends Error {}

const at = (root: string, path: string) => join(root, path);

function isOurLink(file: string, target: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink() && resolve(dirname(file), readlinkSync(file)) === target;
  } catch {
    return false;
  }
}

const exists = (file: string) => {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
};

export function unitFiles(o: InstallOptions): Array<{ name: string; content: string }> {
  const bin = (n: string) => join(o.repo, 'bin', n);
  return [
    {
      name: 'postern-postfix.service',
      content: `[Unit]
Description=Postern: the Postfix half (SMTP in, queue, delivery)
Documentation=man:postfix(1) man:master(8)
After=network-online.target
Conflicts=postfix.service postfix@-.service

[Service]
Type=simple
ExecStart=${o.node} ${bin('postfix')} start-fg
ExecReload=${o.node} ${bin('postfix')} reload
ExecStop=${o.node} ${bin('postfix')} stop
Restart=on-failure

[Install]
WantedBy=multi-user.target
`,
    },
    {
      name: 'postern-dovecot.service',
      content: `[Unit]
Description=Postern: the Dovecot half (auth, LMTP, IMAP, POP3)
Documentation=man:dovecot(1)
After=network-online.target
Conflicts=dovecot.service

[Service]
Type=simple
ExecStart=${o.node} ${bin('dovecot')} -F
ExecReload=${o.node} ${bin('dovecot')} reload
ExecStop=${o.node} ${bin('dovecot')} stop
Restart=on-failure
LimitNOFILE=65535

[Install]
WantedBy=multi-user.target
`,
    },
  ];
}

/** What install would do; throws InstallError when it must not start. */
export function planInstall(o: InstallOptions): Step[] {
  const steps: Step[] = [];
  for (const [name, path] of SYSTEM_PATHS) {
    const file = at(o.root, path);
    const target = join(o.repo, 'bin', name);
    if (!existsSync(target)) throw new InstallError(`${target}: no such command in this checkout`);
    if (isOurLink(file, target)) continue;
    const backup = `${path}${BACKUP_SUFFIX}`;
    if (exists(at(o.root, backup))) {
      throw new InstallError(`${path}${BACKUP_SUFFIX} already exists and ${path} is not Postern's: resolve this by hand first`);
    }
    steps.push({ kind: 'link', path, target, backup: exists(file) ? backup : undefined });
  }
  for (const u of unitFiles(o)) {
    const path = join(UNIT_DIR, u.name);
    const file = at(o.root, path);
    if (existsSync(file) && readFileSync(file, 'utf8') === u.content) continue;
    if (existsSync(file)) throw new InstallError(`${path} exists and was not written by this Postern: move it away first`);
    steps.push({ kind: 'unit', path, content: u.content });
  }
  return steps;
}

export function describeStep(s: Step): string {
  if (s.kind === 'unit') return `write ${s.path}`;
  return s.backup ? `move ${s.path} to ${s.backup}, link ${s.path} -> ${s.target}` : `link ${s.path} -> ${s.target}`;
}

function readManifest(root: string): Manifest | undefined {
  const file = at(root, MANIFEST);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

/** Carry the steps out, recording each in the manifest as soon as it is done. */
export function applyInstall(o: InstallOptions, steps: Step[]): void {
  const manifest: Manifest = readManifest(o.root) ?? { version: 1, repo: o.repo, steps: [] };
  const save = () => {
    mkdirSync(dirname(at(o.root, MANIFEST)), { recursive: true });
    writeFileSync(at(o.root, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  };
  for (const s of steps) {
    const file = at(o.root, s.path);
    mkdirSync(dirname(file), { recursive: true });
    if (s.kind === 'link') {
      if (s.backup) renameSync(file, at(o.root, s.backup));
      symlinkSync(s.target, file);
    } else writeFileSync(file, s.content);
    manifest.steps.push(s);
    save();
  }
  save();
}

export interface UndoReport {
  done: string[];
  kept: string[];
}

/** Reverse the manifest's steps (last first); `dryRun` only reports. */
export function uninstall(root: string, dryRun: boolean): UndoReport {
  const manifest = readManifest(root);
  const report: UndoReport = { done: [], kept: [] };
  if (!manifest) return report;
  const remaining: Step[] = [];
  for (const s of [...manifest.steps].reverse()) {
    const file = at(root, s.path);
    if (s.kind === 'unit') {
      if (existsSync(file) && readFileSync(file, 'utf8') === s.content) {
        report.done.push(`remove ${s.path}`);
        if (!dryRun) rmSync(file);
      } else if (existsSync(file)) {
        report.kept.push(`${s.path} was changed since install: left in place`);
      }
      continue;
    }
    if (!isOurLink(file, s.target)) {
      report.kept.push(
        s.backup ? `${s.path} is no longer Postern's link: left in place, the original stays at ${s.backup}` : `${s.path} is no longer Postern's link: left in place`,
      );
      if (s.backup && exists(at(root, s.backup))) remaining.push(s);
      continue;
    }
    report.done.push(s.backup ? `restore ${s.path} from ${s.backup}` : `remove ${s.path}`);
    if (!dryRun) {
      rmSync(file);
      if (s.backup) renameSync(at(root, s.backup), file);
    }
  }
  if (!dryRun) {
    if (remaining.length === 0) rmSync(at(root, MANIFEST), { force: true });
    else writeFileSync(at(root, MANIFEST), `${JSON.stringify({ ...manifest, steps: remaining.reverse() }, null, 2)}\n`);
  }
  return report;
}
