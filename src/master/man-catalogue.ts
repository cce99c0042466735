// biome-ignore-all lint/suspicious/noTemplateCurlyInString: roff text shows ${name} forms of main.cf, not JS templates.
/**
 * master/man-catalogue.ts: the two manual pages made from parameter tables,
 * so that they cannot fall behind the code: postconf(5) from the Postfix
 * parameter catalogue (compat/postfix/params) and postern(5) from Postern's
 * own parameters (postern-params.ts). `node man/generate.mjs` (after a
 * build) writes man/man5/postconf.5 and man/man5/postern.5; a unit test
 * checks that the committed files equal what this module makes.
 */
import { builtinParams, type ParamDef } from '../../compat/postfix/params/index.js';
import { SERVICE_TEMPLATES } from '../../compat/postfix/params/builtin.js';
import { POSTERN_PARAMS } from './postern-params.js';

const DATE = '2026-11-23';

/** Text for a roff line: backslashes escaped, a leading dot or quote neutralised. */
export function roffText(s: string): string {
  // \: lets a long value break after a comma, colon, question mark or brace.
  const t = s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/([,:?{}])/g, '$1\\:');
  return /^[.']/.test(t) ? `\\&${t}` : t;
}

const UNIT_WORD: Record<string, string> = { s: 'seconds', m: 'minutes', h: 'hours', d: 'days', w: 'weeks' };

function kindText(p: ParamDef): string {
  switch (p.kind) {
    case 'time':
      return `time; a number with an optional unit s, m, h, d or w (without one: ${UNIT_WORD[p.unit ?? 's'] ?? 'seconds'})`;
    case 'bool':
    case 'nbool':
      return 'boolean; yes or no';
    case 'int':
    case 'nint':
      return 'integer';
    case 'long':
      return 'integer (64 bits)';
    case 'raw':
      return 'text, used without $name expansion';
    case 'str_fn':
      return 'text; the default is computed from the system at run time';
    case 'readonly':
      return 'read-only; set by the running program';
    default:
      return 'text, with $name expansion';
  }
}

const isText = (p: ParamDef) => p.kind === 'str' || p.kind === 'str_fn' || p.kind === 'raw';

function bounds(p: ParamDef): string {
  const parts: string[] = [];
  if (p.min) parts.push(isText(p) ? `at least ${p.min} character${p.min === 1 ? '' : 's'}` : `at least ${p.min}`);
  if (p.max) parts.push(isText(p) ? `at most ${p.max} characters` : `at most ${p.max}`);
  return parts.length ? ` Must be ${parts.join(' and ')}.` : '';
}

export function postconfManual(): string {
  const out: string[] = [
    `.TH POSTCONF 5 ${DATE} Postern "File Formats"`,
    '.ad l',
    '.nh',
    '.SH NAME',
    'postconf \\- Postfix main.cf parameters read by Postern',
    '.SH DESCRIPTION',
    'The file',
    '.I main.cf',
    'in the configuration directory holds',
    '.IB name " = " value',
    'lines. A line that starts with white space continues the previous one; lines starting with',
    '.B #',
    'are comments.',
    'A value may refer to other parameters as',
    '.BR $name ,',
    '.BR ${name} " or " $(name) ,',
    'and use the conditional forms',
    '.BR ${name?value} " and " ${name:value} .',
    'Postern reads the same file as Postfix 3.7 and knows every parameter listed below,',
    'with the same default;',
    '.B postconf \\-d',
    'prints these defaults and',
    '.B postconf \\-n',
    'the values set in main.cf.',
    'Parameters Postern reads but Postfix does not are in',
    '.BR postern (5).',
    '.SH PER-SERVICE PARAMETERS',
    'For a master.cf service whose command is one of',
    `${Object.keys(SERVICE_TEMPLATES).map((c) => `.BR ${c}`).join(' ,\n')}`,
    'the parameters below exist with the service name in front, for example',
    '.B relay_destination_concurrency_limit',
    'for a service named relay. Each defaults to the general parameter on the right.',
    '.TP',
  ];
  const bySuffix = new Map<string, { base: string; cmds: string[] }>();
  for (const [cmd, tpl] of Object.entries(SERVICE_TEMPLATES))
    for (const [suffix, base] of tpl) {
      const e = bySuffix.get(suffix) ?? { base, cmds: [] };
      e.cmds.push(cmd);
      bySuffix.set(suffix, e);
    }
  const rows: string[] = [];
  for (const [suffix, { base, cmds }] of bySuffix)
    rows.push(`.TP\n.BI service ${suffix}\nDefault: \\fB$${base}\\fR (services running ${cmds.join(', ')}).`);
  out.pop();
  out.push(...rows);
  out.push('.SH PARAMETERS');
  for (const p of builtinParams().values()) {
    out.push('.TP', `.B ${p.name}`);
    const def = p.kind === 'str_fn' || p.kind === 'readonly' ? '(computed)' : p.default === '' ? '(empty)' : roffText(p.default);
    out.push(`Type: ${kindText(p)}.${bounds(p)}`, '.br', `Default: ${def}`);
  }
  out.push(
    '.SH FILES',
    '.TP',
    '.I /etc/postfix/main.cf',
    'the default location; see config_directory and the',
    '.B \\-c',
    'option of each command.',
    '.SH SEE ALSO',
    '.BR postconf (1),',
    '.BR master (5),',
    '.BR postern (5),',
    '.BR postfix (1)',
    '',
  );
  return out.join('\n');
}

export function posternManual(): string {
  const out: string[] = [
    `.TH POSTERN 5 ${DATE} Postern "File Formats"`,
    '.ad l',
    '.nh',
    '.SH NAME',
    'postern \\- main.cf parameters that only Postern reads',
    '.SH DESCRIPTION',
    'These parameters go in',
    '.I main.cf',
    'next to the Postfix ones. Real Postfix does not know them:',
    '.B postconf \\-d',
    'does not list them and',
    '.B postconf \\-n',
    'shows one that is set with the warning "unused parameter", as it does for any name it does not know.',
    'A schedule is a cron expression with five fields (minute, hour, day of month, month, day of week)',
    'or six (seconds first); an empty schedule turns the job off.',
    'Every scheduled job logs what it did through the master (postfix/master[PID]).',
    'A bad value is reported by',
    '.B postfix reload',
    'in the mail log, and the running configuration stays.',
    '.SH PARAMETERS',
  ];
  for (const p of POSTERN_PARAMS) {
    out.push('.TP', `.B ${p.name}`, roffText(p.doc), '.br', `Default: ${p.default === '' ? '(empty)' : roffText(p.default)}`);
  }
  out.push(
    '.SH EXAMPLES',
    '.nf',
    'postern_auto_reload = yes',
    'postern_queue_run_schedule = */10 * * * *',
    'postern_hold_expire_time = 30d',
    '.fi',
    '.SH SEE ALSO',
    '.BR postconf (5),',
    '.BR master (8),',
    '.BR postsuper (1)',
    '',
  );
  return out.join('\n');
}
