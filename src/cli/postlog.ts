/**
 * cli/postlog.ts: postlog(1), "Postfix-compatible logging utility".
 *
 *   postlog [-iv] [-c config_dir] [-p priority] [-t tag] [text...]
 *
 * Logs the text (arguments joined by one space) or each line of standard
 * input at the given priority (info, warn/warning, error/err, fatal/crit,
 * panic) with the tag (default "$syslog_name/postlog"). As in postlog.c:
 * messages go to stderr only when stderr is a terminal, the mail log gets
 * them directly (LOGWRITER_FALLBACK), errors before main.cf is read reach
 * stderr only, a fatal or panic priority still exits 0, and -i is accepted
 * and ignored. postlog.c sleeps a second after a fatal/panic message "for
 * consistency with msg(3)"; Postern does not.
 */
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { loadPostfixConfig } from '../../compat/postfix/config.js';
import { maillogClientInit } from '../log/client.js';
import { mailTask } from '../log/maillog.js';
import { fatal, type MsgLevel, msgPrintf, setMsgStderr, setProgname, setVerbose } from '../log/msg.js';
import { getopt } from '../util/getopt.js';

const LEVELS: Record<string, MsgLevel> = {
  info: 'info',
  warn: 'warning',
  warning: 'warning',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  crit: 'fatal',
  panic: 'panic',
};

/** printable(): replace control characters with '?' (UTF-8 kept: smtputf8_enable = yes). */
export function printable(text: string, repl = '?'): string {
  return text.replace(/[\x00-\x1f\x7f]/g, repl);
}

export function main(argv: string[]): number {
  // Before main.cf: mail_task() with the built-in syslog_name.
  let tag = mailTask('postlog', 'postfix');
  setProgname(tag);
  setMsgStderr(isatty(2));
  const r = getopt(argv, 'c:ip:t:v');
  if (!r.ok) {
    process.stderr.write(`postlog: ${r.error}\n`);
    fatal('usage: postlog [-c config_dir] [-i] [-p priority] [-t tag] [-v] [text]');
  }
  let level: MsgLevel = 'info';
  let configDir: string | undefined;
  let userTag: string | undefined;
  for (const [o, v] of r.opts) {
    if (o === 'c') configDir = v!;
    else if (o === 'p') {
      const l = LEVELS[v!.toLowerCase()];
      if (!l) fatal(`bad severity: "${v}"`);
      level = l;
    } else if (o === 't') userTag = v!;
    else if (o === 'v') setVerbose(1);
  }
  if (configDir !== undefined) process.env.MAIL_CONFIG = configDir;
  const cfg = loadPostfixConfig({ configDir });
  tag = userTag !== undefined ? printable(userTag) : mailTask('postlog', cfg.get('syslog_name'));
  setProgname(tag);
  maillogClientInit(cfg, 'postlog', { fallback: true, tag });

  if (r.operands.length > 0) {
    msgPrintf(level, r.operands.join(' '));
  } else {
    let input: string;
    try {
      input = readFileSync(0, 'latin1');
    } catch {
      input = '';
    }
    const lines = input.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) msgPrintf(level, Buffer.from(line, 'latin1').toString('utf8'));
  }
  return 0;
}
