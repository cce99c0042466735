/**
 * test/unit/maillog.test.ts: the mail log line format (log/maillog.ts), and
 * postlog(1) against the real Postfix postlog writing the same maillog_file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  FileSink,
  formatLogLine,
  formatTimestamp,
  logHostname,
  MAILLOG_RECLEN,
  Maillog,
  mailTask,
  maillogPrefixError,
} from '../../src/log/maillog.js';
import { realPostfixAvailable, runOurs, runReal, tempDir } from '../helpers/postfix-diff.js';

test('timestamp is strftime "%b %d %H:%M:%S" with a zero-padded day', () => {
  assert.equal(formatTimestamp(new Date(2026, 10, 3, 4, 5, 6)), 'Nov 03 04:05:06');
  assert.equal(formatTimestamp(new Date(2026, 0, 22, 16, 53, 37)), 'Jan 22 16:53:37');
});

test('host field is the first label of myhostname, "amnesiac" when empty', () => {
  assert.equal(logHostname('mx.example.test'), 'mx');
  assert.equal(logHostname('mx'), 'mx');
  assert.equal(logHostname(''), 'amnesiac');
});

test('line format: info has no severity word, the others do', () => {
  const d = new Date(2026, 10, 22, 16, 53, 50);
  assert.equal(
    formatLogLine(d, 'mx', 'postfix/master', 16063, 'info', 'daemon started -- version 3.7.11, configuration /x'),
    'Nov 22 16:53:50 mx postfix/master[16063]: daemon started -- version 3.7.11, configuration /x',
  );
  assert.equal(
    formatLogLine(d, 'mx', 'postfix/postfix-script', 15972, 'fatal', 'mail system startup failed'),
    'Nov 22 16:53:50 mx postfix/postfix-script[15972]: fatal: mail system startup failed',
  );
  assert.equal(formatLogLine(d, 'mx', 't', 1, 'warning', 'w'), 'Nov 22 16:53:50 mx t[1]: warning: w');
});

test('text is cut at 2000 bytes', () => {
  const line = formatLogLine(new Date(), 'h', 't', 1, 'info', 'x'.repeat(5000));
  assert.equal(line.slice(line.indexOf(']: ') + 3).length, MAILLOG_RECLEN);
});

test('maillog_file must match a maillog_file_prefixes entry', () => {
  assert.equal(maillogPrefixError('/var/log/postfix.log', '/var, /dev/stdout'), undefined);
  assert.equal(maillogPrefixError('/dev/stdout', '/var, /dev/stdout'), undefined);
  assert.equal(
    maillogPrefixError('/tmp/x/maillog', '/var, /dev/stdout'),
    "maillog_file value '/tmp/x/maillog' does not match any prefix in maillog_file_prefixes",
  );
  assert.equal(maillogPrefixError('', '/var'), undefined);
});

test('mail_task: syslog_name/program, MAIL_LOGTAG wins', () => {
  const saved = process.env.MAIL_LOGTAG;
  delete process.env.MAIL_LOGTAG;
  assert.equal(mailTask('/usr/sbin/postsuper', 'postfix'), 'postfix/postsuper');
  assert.equal(mailTask('smtpd', 'postfix/submission'), 'postfix/submission/smtpd');
  process.env.MAIL_LOGTAG = 'other';
  assert.equal(mailTask('smtpd', 'postfix'), 'other/smtpd');
  if (saved === undefined) delete process.env.MAIL_LOGTAG;
  else process.env.MAIL_LOGTAG = saved;
});

test('Maillog appends whole lines to maillog_file', () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'maillog');
    const log = new Maillog({ tag: 'postfix/test', myhostname: 'mx.example', maillogFile: file, syslogFacility: 'mail', stderrFallback: false });
    log.info('one');
    log.warn('two');
    log.close();
    new FileSink(file).write('info', 'raw');
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, new RegExp(`^[A-Z][a-z]{2} \\d\\d \\d\\d:\\d\\d:\\d\\d mx postfix/test\\[${process.pid}\\]: one$`));
    assert.match(lines[1]!, /: warning: two$/);
    assert.equal(lines[2], 'raw');
    assert.equal(lines[3], '');
  } finally {
    t.cleanup();
  }
});

/** Strip "Mon DD HH:MM:SS" and the [pid] from a log line. */
const shape = (line: string) => line.replace(/^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d /, 'DATE ').replace(/\[\d+\]: /, '[PID]: ');

test('postlog writes the same lines as the real postlog', { skip: !realPostfixAvailable() }, () => {
  const t = tempDir();
  try {
    const etc = join(t.dir, 'etc');
    mkdirSync(etc);
    const run = (who: 'real' | 'ours') => {
      const file = join(t.dir, `maillog-${who}`);
      writeFileSync(
        join(etc, 'main.cf'),
        `maillog_file = ${file}\nmaillog_file_prefixes = ${t.dir}\nmyhostname = mx.example.test\nqueue_directory = ${t.dir}/q\ncompatibility_level = 3.6\n`,
      );
      const go = who === 'real' ? runReal : runOurs;
      const results = [
        go('postlog', ['-c', etc, 'hello', 'world']),
        go('postlog', ['-c', etc, '-t', 'mytag', '-p', 'warn'], {}, 'line1\nline 2\r\n'),
        go('postlog', ['-c', etc, '-p', 'crit', '-t', 'x\u0001y', 'text']),
        go('postlog', ['-c', etc, '-i', '-p', 'err', 'e']),
        go('postlog', ['-c', etc, '-p', 'bogus', 'e']),
        go('postlog', ['-c', etc, '-Z']),
      ];
      const lines = readFileSync(file, 'latin1').split('\n').map(shape);
      return { lines, results: results.map((r) => [r.status, r.stdout, r.stderr]) };
    };
    const real = run('real');
    const ours = run('ours');
    assert.deepEqual(ours.lines, real.lines);
    assert.deepEqual(ours.results, real.results);
  } finally {
    t.cleanup();
  }
});

test('every tool dies when maillog_file is outside maillog_file_prefixes', { skip: !realPostfixAvailable() }, () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, 'main.cf'), `maillog_file = ${t.dir}/maillog\n`);
    const real = runReal('postlog', ['-c', t.dir, 'x']);
    const ours = runOurs('postlog', ['-c', t.dir, 'x']);
    assert.equal(ours.status, real.status);
    assert.equal(ours.stderr, real.stderr);
  } finally {
    t.cleanup();
  }
});
