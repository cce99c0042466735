/**
 * pop3/log.ts: the log lines of pop3-login and pop3 as Dovecot writes them.
 * Login lines are login_log_format ("%$: %s") with the elements of
 * login_log_format_elements that expanded to something
 * (login-common/client-common.c client_get_log_str: an element whose
 * variables are all empty is dropped, except the user name). Mail process
 * lines start with mail_log_prefix ("%s(%u)<%{pid}><%{session}>: ").
 */
import { type VarTable, varExpand } from '../../compat/dovecot/var-expand.js';

export type Pop3LogLevel = 'info' | 'warning' | 'error';
/** One log line: `prefix` is "pop3-login: " or the expanded mail_log_prefix. */
export type Pop3Log = (level: Pop3LogLevel, prefix: string, text: string) => void;

export interface LoginLogVars {
  user?: string;
  mech?: string;
  localIp: string;
  remoteIp: string;
  localPort: number;
  remotePort: number;
  secured: boolean;
  tls: boolean;
  mailPid?: number;
  session: string;
}

function loginTable(v: LoginLogVars): VarTable {
  const user = v.user ?? '';
  const at = user.indexOf('@');
  return [
    { key: 'u', long: 'user', value: user },
    { key: 'n', long: 'username', value: at < 0 ? user : user.slice(0, at) },
    { key: 'd', long: 'domain', value: at < 0 ? '' : user.slice(at + 1) },
    { key: 's', long: 'service', value: 'pop3' },
    { key: 'h', long: 'home', value: null },
    { key: 'l', long: 'lip', value: v.localIp },
    { key: 'r', long: 'rip', value: v.remoteIp },
    { key: 'p', long: 'pid', value: String(process.pid) },
    { key: 'm', long: 'mech', value: v.mech ?? null },
    { key: 'a', long: 'lport', value: String(v.localPort) },
    { key: 'b', long: 'rport', value: String(v.remotePort) },
    { key: 'c', value: v.tls ? 'TLS' : v.secured ? 'secured' : null },
    { key: 'k', long: 'ssl_security', value: null },
    { key: 'e', long: 'mail_pid', value: v.mailPid !== undefined ? String(v.mailPid) : null },
    { long: 'session', value: v.session },
    { long: 'real_lip', value: v.localIp },
    { long: 'real_rip', value: v.remoteIp },
    { long: 'real_lport', value: String(v.localPort) },
    { long: 'real_rport', value: String(v.remotePort) },
    { long: 'orig_user', value: user },
    { long: 'orig_username', value: at < 0 ? user : user.slice(0, at) },
    { long: 'orig_domain', value: at < 0 ? '' : user.slice(at + 1) },
    { long: 'auth_user', value: user },
    { long: 'auth_username', value: at < 0 ? user : user.slice(0, at) },
    { long: 'auth_domain', value: at < 0 ? '' : user.slice(at + 1) },
    { long: 'listener', value: null },
    { long: 'local_name', value: null },
  ];
}

const emptyTable = (t: VarTable): VarTable => t.map((e) => ({ ...e, value: null }));

function hasUsernameKey(element: string): boolean {
  return /%[-0-9.LUXR]*[un]|%\{(user|username)\}/.test(element);
}

/** "<msg>: user=<…>, method=…, rip=…" as pop3-login logs it. */
export function loginLogLine(format: string, elements: string, msg: string, v: LoginLogVars): string {
  const tab = loginTable(v);
  const empty = emptyTable(tab);
  const parts: string[] = [];
  for (const e of elements.split(' ').filter(Boolean)) {
    const val = varExpand(e, tab).value;
    if (!hasUsernameKey(e) && val === varExpand(e, empty).value) continue;
    parts.push(val);
  }
  return varExpand(format, [
    { key: 's', value: parts.join(', ') },
    { key: '$', value: msg },
  ]).value;
}
