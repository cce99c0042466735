/**
 * master/permissions.ts: the queue and data directories' owners, groups
 * and modes, as Postfix's postfix-files lists them and post-install applies
 * them (`postfix set-permissions`, and create-missing at every start), and
 * the ownership checks of postfix-script check-warn (`postfix check`,
 * `postfix start`) with their exact words:
 *
 *   warning: not owned by root: /var/spool/postfix/.
 *   warning: group or other writable: /var/spool/postfix/.
 *   warning: not owned by postfix: /var/spool/postfix/incoming/4F2A81C03D
 *   warning: not owned by group postdrop: /var/spool/postfix/public
 *   warning: symlink leaves directory: /etc/postfix/./x
 *
 * Like Postfix these are warnings: the system still starts. Postern's
 * commands are scripts, so the set-gid postdrop/postqueue entries of
 * postfix-files do not apply (see postdrop(1)).
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { getgrnam, getpwnam } from '../util/passwd.js';

export interface PermConfig {
  readonly configDir: string;
  get(name: string): string;
}

/** One directory line of postfix-files: owner is root or $mail_owner, group '-' or $setgid_group. */
interface DirSpec {
  path: string;
  owner: 'root' | 'mail_owner';
  setgid: boolean;
  mode: number;
  /** 'r' flag: chown -R and chmod every directory below. */
  recursive: boolean;
}

/** postfix-files, the directory entries that Postern uses. */
export function postfixDirs(cfg: PermConfig): DirSpec[] {
  const q = cfg.get('queue_directory');
  const d = (path: string, owner: DirSpec['owner'], mode: number, recursive = false, setgid = false): DirSpec => ({
    path,
    owner,
    setgid,
    mode,
    recursive,
  });
  return [
    d(cfg.get('data_directory'), 'mail_owner', 0o700),
    d(q, 'root', 0o755),
    ...['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming'].map((n) =>
      d(join(q, n), 'mail_owner', 0o700, true),
    ),
    d(join(q, 'private'), 'mail_owner', 0o700),
    d(join(q, 'maildrop'), 'mail_owner', 0o730, false, true),
    d(join(q, 'public'), 'mail_owner', 0o710, false, true),
    d(join(q, 'pid'), 'root', 0o755),
    d(join(q, 'saved'), 'mail_owner', 0o700, true),
    d(join(q, 'trace'), 'mail_owner', 0o700, true),
  ];
}

function ids(cfg: PermConfig): { uid?: number; gid?: number } {
  return { uid: getpwnam(cfg.get('mail_owner'))?.uid, gid: getgrnam(cfg.get('setgid_group'))?.gid };
}

function walkAll(path: string, fn: (p: string, st: Stats) => void): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  fn(path, st);
  if (!st.isDirectory()) return;
  for (const name of readdirSync(path)) walkAll(join(path, name), fn);
}

/**
 * post-install: `create` makes missing directories (with their owner, group
 * and mode); `setPerms` also resets existing ones (set-permissions). Owners
 * change only when running as root.
 */
export function applyPostfixDirs(cfg: PermConfig, opts: { setPerms: boolean }): void {
  const root = process.getuid?.() === 0;
  const { uid: mailUid, gid: setgidGid } = root ? ids(cfg) : {};
  for (const spec of postfixDirs(cfg)) {
    let set = opts.setPerms;
    if (!existsSync(spec.path)) {
      mkdirSync(spec.path, { recursive: true, mode: spec.mode });
      set = true;
    }
    if (!set) continue;
    const uid = spec.owner === 'root' ? 0 : mailUid;
    const gid = spec.setgid ? setgidGid : undefined;
    const apply = (p: string, st: Stats) => {
      if (root && uid !== undefined) chownSync(p, uid, gid ?? -1);
      // Never chmod files below: a queue file's state is in its mode bits.
      if (p === spec.path || (spec.recursive && st.isDirectory())) chmodSync(p, spec.mode);
    };
    if (spec.recursive) walkAll(spec.path, apply);
    else apply(spec.path, lstatSync(spec.path));
  }
}

const writable = (st: Stats) => (st.mode & 0o022) !== 0;

/** postfix-script check-warn: the warnings, in the order it prints them (each find walks its tree in directory order). */
export function checkWarnings(cfg: PermConfig): string[] {
  const out: string[] = [];
  const q = cfg.get('queue_directory');
  const owner = cfg.get('mail_owner');
  const group = cfg.get('setgid_group');
  const mailUid = getpwnam(owner)?.uid;
  const setgidGid = getgrnam(group)?.gid;
  const stat = (p: string) => {
    try {
      return lstatSync(p);
    } catch {
      return undefined;
    }
  };
  // Root-owned directories (not recursive).
  const top = [`${q}/.`, `${q}/pid`];
  for (const p of top) if (stat(p) && stat(p)!.uid !== 0) out.push(`not owned by root: ${p}`);
  for (const p of top) if (stat(p) && writable(stat(p)!)) out.push(`group or other writable: ${p}`);
  // The configuration tree.
  const conf = `${cfg.configDir}/.`;
  walkAll(conf, (p, st) => {
    if (st.uid !== 0) out.push(`not owned by root: ${p}`);
  });
  walkAll(conf, (p, st) => {
    let target = st;
    if (st.isSymbolicLink()) {
      try {
        target = statSync(p);
      } catch {
        /* dangling: find -L tests the link itself */
      }
    }
    if (writable(target)) out.push(`group or other writable: ${p}`);
  });
  walkAll(conf, (p, st) => {
    if (st.isSymbolicLink() && readlinkSync(p).includes('/')) out.push(`symlink leaves directory: ${p}`);
  });
  // $mail_owner's trees.
  const data = `${cfg.get('data_directory')}/.`;
  walkAll(data, (p, st) => {
    if (st.uid !== mailUid) out.push(`not owned by ${owner}: ${p}`);
  });
  walkAll(data, (p, st) => {
    if (writable(st)) out.push(`group or other writable: ${p}`);
  });
  const owned = ['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming', 'private', 'public', 'saved', 'trace'];
  let subdirs: string[] = [];
  try {
    subdirs = readdirSync(q).filter((n) => owned.includes(n));
  } catch {
    /* no queue directory yet */
  }
  for (const n of subdirs)
    walkAll(join(q, n), (p, st) => {
      if (!st.isFIFO() && !st.isSocket() && st.uid !== mailUid) out.push(`not owned by ${owner}: ${p}`);
    });
  const maildrop = stat(join(q, 'maildrop'));
  if (maildrop && maildrop.uid !== mailUid) out.push(`not owned by ${owner}: ${q}/maildrop`);
  for (const p of [join(q, 'public'), join(q, 'maildrop')]) {
    const st = stat(p);
    if (st && st.gid !== setgidGid) out.push(`not owned by group ${group}: ${p}`);
  }
  return out;
}
