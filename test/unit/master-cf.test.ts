/**
 * Unit tests: master.cf parsing (logical lines, field checks, -o and {}
 * normalisation), the -M/-F/-P formatters, pattern matching, the in-memory
 * editor and the -o parameter name-space checks. Byte parity with the real
 * postconf is covered by test/differential/postconf-master.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FatalExit, addMsgOutput, type MsgLevel, removeMsgOutput, setMsgStderr, warn } from '../../src/log/msg.js';
import { logicalLines } from '../../compat/postfix/main-cf.js';
import { entryArgv, parseMasterCf, serviceView } from '../../compat/postfix/master-cf.js';
import { extractBraces, splitNameValue, splitQuoted } from '../../compat/postfix/strops.js';
import { editMasterText } from '../../compat/postfix/postconf/master-edit.js';
import { macExpand } from '../../compat/postfix/expand.js';
import { PostconfEngine } from '../../compat/postfix/postconf/engine.js';
import { formatMasterEntry, formatMasterField } from '../../compat/postfix/postconf/master-show.js';
import { formatLine } from '../../compat/postfix/postconf/print.js';
import { matchService, parseServicePattern } from '../../compat/postfix/postconf/match.js';

const messages: string[] = [];
const capture = (level: MsgLevel, text: string) => messages.push(`${level}: ${text}`);
before(() => {
  setMsgStderr(false);
  addMsgOutput(capture);
});
after(() => {
  removeMsgOutput(capture);
  setMsgStderr(true);
});
function take(): string[] {
  return messages.splice(0);
}

const DEBIAN_HEAD = `#
# Postfix master process configuration file.
#
smtp      inet  n       -       y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
pickup    unix  n       -       y       60      1       pickup
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=1
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d \${recipient}
`;

describe('logical lines', () => {
  test('continuations join without separator; comments and blank lines inside are skipped', () => {
    const ll = logicalLines('a b\n# c\n\n  d\ne\n', 'x', warn);
    assert.deepEqual(ll, [
      { text: 'a b  d', line: 1 },
      { text: 'e', line: 5 },
    ]);
  });
  test('leading whitespace at the start is warned about and skipped', () => {
    take();
    const ll = logicalLines('  -o x=y\nsmtp\n', './master.cf', warn);
    assert.deepEqual(ll, [{ text: 'smtp', line: 2 }]);
    assert.deepEqual(take(), ['warning: ./master.cf: logical line must not start with whitespace: "  -o x=y"']);
  });
});

describe('parseMasterCf', () => {
  test('fields, args and -o parameters of the Debian layout', () => {
    const e = parseMasterCf(DEBIAN_HEAD, './master.cf');
    assert.equal(e.length, 4);
    assert.deepEqual(
      e.map((x) => [x.service, x.type, x.line]),
      [
        ['smtp', 'inet', 4],
        ['pickup', 'unix', 7],
        ['relay', 'unix', 8],
        ['maildrop', 'unix', 11],
      ],
    );
    assert.equal(e[1]!.wakeup, '60');
    assert.equal(e[1]!.processLimit, '1');
    assert.equal(e[0]!.chroot, 'y');
    assert.deepEqual(e[2]!.args, ['smtp', '-o', 'syslog_name=postfix/$service_name']);
    assert.deepEqual(e[2]!.params, [['syslog_name', 'postfix/$service_name']]);
    assert.deepEqual(e[3]!.args.slice(0, 3), ['pipe', 'flags=DRXhu', 'user=vmail']);
    assert.deepEqual(e[3]!.params, []);
  });

  test('-o normalisation: attached, combined flags, braces', () => {
    take();
    const [e] = parseMasterCf(
      'x unix - - n - - smtpd -oa=1 -vob=2 -o { c = 3 4 } -o{d=} -- { p q } {r}\n',
      'm',
    );
    assert.deepEqual(e!.args, ['smtpd', '-o', 'a=1', '-v', '-o', 'b=2', '-o', 'c=3 4', '-o', 'd=', '--', 'p q', 'r']);
    assert.deepEqual(e!.params, [
      ['a', '1'],
      ['b', '2'],
      ['c', '3 4'],
      ['d', ''],
    ]);
    assert.deepEqual(take(), []);
  });

  test('options stop at the first non-option word', () => {
    const [e] = parseMasterCf('x unix - - n - - smtpd -o a = b -o c=d\n', 'm');
    assert.deepEqual(e!.params, []);
    assert.deepEqual(e!.args, ['smtpd', '-o', 'a', '=', 'b', '-o', 'c=d']);
  });

  test('brace errors are warnings in postconf words', () => {
    take();
    parseMasterCf('x unix - - n - - smtp -o {a=b}junk -o { nameonly } -o {open\n', 'm');
    assert.deepEqual(take(), [
      `warning: master.cf: syntax error after '}' in "{a=b}junk"`,
      `warning: master.cf: missing '=' after attribute name: "nameonly"`,
      `warning: master.cf: missing '}' in "{open"`,
      `warning: master.cf: missing '=' after attribute name: "open"`,
    ]);
  });

  const bad: Array<[string, string]> = [
    ['x unix - - n - -', 'fatal: file ./master.cf: line 2: bad field count'],
    ['x tcp - - n - - smtpd', 'fatal: invalid type field "tcp" in "x tcp - - n - - smtpd"'],
    ['x unix q - n - - smtpd', 'fatal: invalid private field "q" in "x unix q - n - - smtpd"'],
    ['x unix - yes n - - smtpd', 'fatal: invalid unprivileged field "yes" in "x unix - yes n - - smtpd"'],
    ['x unix - - Y - - smtpd', 'fatal: invalid chroot field "Y" in "x unix - - Y - - smtpd"'],
    ['x unix - - n 5s - smtpd', 'fatal: invalid wakeup field "5s" in "x unix - - n 5s - smtpd"'],
    ['x unix - - n - -1 smtpd', 'fatal: invalid process_limit field "-1" in "x unix - - n - -1 smtpd"'],
  ];
  for (const [line, msg] of bad) {
    test(`rejects: ${msg}`, () => {
      take();
      assert.throws(() => parseMasterCf(`# c\n${line}\n`, './master.cf'), FatalExit);
      assert.deepEqual(take(), [msg]);
    });
  }

  test('accepted wakeup forms', () => {
    for (const w of ['-', '0', '60', '1000?', '?', '-?']) parseMasterCf(`x unix - - n ${w} - s\n`, 'm');
  });

  test('serviceView: last duplicate wins', () => {
    const [e] = parseMasterCf('x unix - - n - - smtp -o a=1 -o b=2 -o a=3\n', 'm');
    assert.deepEqual(serviceView(e!), [
      ['a', '3'],
      ['b', '2'],
    ]);
  });
});

describe('string helpers', () => {
  test('splitQuoted keeps brace groups', () => {
    assert.deepEqual(splitQuoted('foo { bar } baz'), ['foo', '{ bar }', 'baz']);
    assert.deepEqual(splitQuoted('foo{ bar } baz'), ['foo{ bar }', 'baz']);
  });
  test('extractBraces', () => {
    assert.deepEqual(extractBraces('{ a b }'), { text: 'a b' });
    assert.deepEqual(extractBraces('{}'), { text: '' });
    assert.equal(extractBraces('{a}b').text, 'a');
  });
  test('splitNameValue', () => {
    assert.deepEqual(splitNameValue(' a = b c '), ['a', 'b c']);
    assert.equal(splitNameValue('=x'), 'missing attribute name');
    assert.equal(splitNameValue('a b=c'), "missing '=' after attribute name");
  });
});

describe('formatters', () => {
  const entries = parseMasterCf(
    `${DEBIAN_HEAD}postlog   unix-dgram n  -       n       -       1       postlogd
submission inet n - n - - smtpd -o syslog_name=postfix/submission -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
`,
    'm',
  );
  test('-M columns, overflow pushes later fields right', () => {
    assert.equal(formatMasterEntry(entries[0]!, false), 'smtp       inet  n       -       y       -       -       smtpd\n');
    assert.equal(
      formatMasterEntry(entries[4]!, false),
      'postlog    unix-dgram n  -       n       -       1       postlogd\n',
    );
  });
  test('-Mf puts each -o on its own line and braces values with blanks', () => {
    assert.equal(
      formatMasterEntry(entries[5]!, true),
      'submission inet  n       -       n       -       -       smtpd\n' +
        '    -o syslog_name=postfix/submission\n' +
        '    -o {smtpd_client_restrictions=permit_sasl_authenticated, reject}\n',
    );
    assert.equal(
      formatMasterEntry(entries[3]!, true),
      'maildrop   unix  -       n       n       -       -       pipe flags=DRXhu\n' +
        `    user=vmail argv=/usr/bin/maildrop -d \${recipient}\n`,
    );
  });
  test('-F field and command lines', () => {
    assert.equal(formatMasterField(entries[2]!, 4, {}), 'relay/unix/chroot = y\n');
    assert.equal(formatMasterField(entries[2]!, 7, {}), 'relay/unix/command = smtp -o syslog_name=postfix/$service_name\n');
    assert.equal(formatMasterField(entries[2]!, 7, { hideValue: true }), 'relay/unix/command\n');
    assert.equal(formatMasterField(entries[2]!, 0, { hideName: true }), 'relay\n');
  });
  test('pcf_print_line whitespace and folding', () => {
    assert.equal(formatLine('a  =   b\tc', false), 'a = b c\n');
    assert.equal(formatLine('', false), '\n');
    const long = `x = ${'word '.repeat(20)}`;
    assert.equal(formatLine(long, true).split('\n')[1]!.startsWith('    word'), true);
  });
  test('entryArgv round trip', () => {
    assert.deepEqual(entryArgv(entries[0]!), ['smtp', 'inet', 'n', '-', 'y', '-', '-', 'smtpd']);
  });
});

describe('patterns', () => {
  test('parseServicePattern', () => {
    assert.deepEqual(parseServicePattern('smtp', 1, 2), ['smtp', '*']);
    assert.deepEqual(parseServicePattern('smtp//inet', 1, 3), ['smtp', 'inet', '*']);
    assert.equal(parseServicePattern('/x', 1, 3), null);
    assert.equal(parseServicePattern('a/b/c', 1, 2), null);
    assert.equal(parseServicePattern('sm*tp', 1, 2), null);
    assert.deepEqual(parseServicePattern('*/unix', 2, 2), ['*', 'unix']);
  });
  test('matchService', () => {
    assert.ok(matchService(['*', 'unix'], 'relay', 'unix'));
    assert.ok(!matchService(['smtp', 'inet'], 'smtp', 'unix'));
  });
});

describe('editMasterText', () => {
  const text = 'smtp inet n - n - - smtpd\n# in\n  -o a=1\nrelay unix - - n - - smtp\n';
  const req = (raw: string, pattern: string[], value?: string, extra: Partial<{ field: number; param: string }> = {}) => ({
    raw,
    pattern,
    value,
    field: extra.field ?? 0,
    param: extra.param ?? '',
    matches: 0,
  });
  test('-M# comments out every physical line but leaves comments alone', () => {
    const r = editMasterText(text, 'm', { kind: 'entry', op: 'comment' }, [req('smtp/inet', ['smtp', 'inet'])]);
    assert.equal(r, '#smtp inet n - n - - smtpd\n# in\n#  -o a=1\nrelay unix - - n - - smtp\n');
  });
  test('-MX drops the entry and its continuation lines', () => {
    const r = editMasterText(text, 'm', { kind: 'entry', op: 'exclude' }, [req('smtp/inet', ['smtp', 'inet'])]);
    assert.equal(r, '# in\nrelay unix - - n - - smtp\n');
  });
  test('-Pe rewrites the entry (comments first) and -Me appends new entries', () => {
    const r = editMasterText(text, 'm', { kind: 'param', op: 'edit' }, [
      req('smtp/inet/b=2', ['smtp', 'inet', 'b'], '2', { param: 'b' }),
    ]);
    assert.equal(
      r,
      '# in\nsmtp       inet  n       -       n       -       -       smtpd\n    -o a=1\n    -o b=2\nrelay unix - - n - - smtp\n',
    );
    const r2 = editMasterText(text, 'm', { kind: 'entry', op: 'edit' }, [
      req('x/unix=x unix - - n - - error', ['x', 'unix'], 'x unix - - n - - error'),
    ]);
    assert.equal(r2, text + 'x          unix  -       -       n       -       -       error\n');
  });
});

describe('-o parameter name spaces (the postconf engine)', () => {
  const entries = parseMasterCf(
    'relay unix - - n - - smtp -o smtp_helo_name=1 -o helper=x -o smtp_bind_address=$helper -o process_name=p -o smtp_connect_timeout=$nowhere -o stray=1\n',
    'm',
  );
  test('macro names a value refers to', () => {
    const names: string[] = [];
    macExpand(`$a \${b?x} $(c) $$d \${{$e} == {1}?{y}:{n}}`, (n) => void names.push(n), { scan: true, warn });
    assert.deepEqual(names, ['a', 'b', 'c', 'e']);
  });
  test('read-only, undefined and unused warnings', () => {
    take();
    const engine = new PostconfEngine(0, '.', true);
    engine.setMasterEntries(entries);
    engine.registerBuiltin('postconf', 1);
    engine.registerService();
    engine.registerUser();
    assert.deepEqual(take(), [
      'warning: ./master.cf: read-only parameter assignment: process_name=p',
      'warning: ./master.cf: undefined parameter: nowhere',
    ]);
    const scope = engine.masters[0]!;
    assert.equal(scope.all!.has('process_name'), false);
    assert.ok(scope.valid!.has('helper'));
    engine.flagUnusedMaster();
    assert.deepEqual(take(), ['warning: ./master.cf: unused parameter: stray=1']);
  });
});
