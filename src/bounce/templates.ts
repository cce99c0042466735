/**
 * bounce/templates.ts: bounce(5) message templates: the four built-in ones,
 * a bounce_template_file that overrides them, and the expansion of $name in
 * their text (Postfix bounce_templates.c, bounce_template.c).
 *
 * File format: "name = value" lines, or "name = <<MARKER" followed by text
 * lines up to a line that is exactly MARKER. A template is header lines
 * (Charset, From, Subject, Postmaster-Subject), a blank line, then the text.
 * A template that fails a check is ignored with a warning and the built-in
 * one stays in force. Expansion is per text line; an undefined $name or bad
 * $name syntax is fatal.
 */
import { domainToUnicode } from 'node:url';
import { fatal, warn } from '../log/msg.js';
import { MAC_PARSE_ERROR, MAC_PARSE_UNDEF, macExpand } from '../../compat/postfix/expand.js';
import type { PostfixConfig } from '../../compat/postfix/config.js';
import { isSpace, splitNameValue } from '../../compat/postfix/strops.js';
import { DEFAULT_BOUNCE_TEMPLATES } from './templates-default.js';

export const TEMPLATE_CLASSES = ['failure', 'delay', 'success', 'verify'] as const;
export type TemplateClass = (typeof TEMPLATE_CLASSES)[number];

export interface BounceTemplate {
  readonly cls: TemplateClass;
  origin: string;
  charset: string;
  from: string;
  subject: string;
  /** Only failure and delay notices have a postmaster copy. */
  postmasterSubject: string | undefined;
  lines: string[];
}

/** The built-in templates, parsed from their `postconf -t` text. */
function builtin(cls: TemplateClass): BounceTemplate {
  const text = DEFAULT_BOUNCE_TEMPLATES.find(([n]) => n === `${cls}_template`)![1];
  const blank = text.indexOf('\n\n');
  const headers = new Map(
    text
      .slice(0, blank)
      .split('\n')
      .map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 2)] as const),
  );
  return {
    cls,
    origin: 'built-in',
    charset: headers.get('Charset')!,
    from: headers.get('From')!,
    subject: headers.get('Subject')!,
    postmasterSubject: headers.get('Postmaster-Subject'),
    lines: text.slice(blank + 2).split('\n'),
  };
}

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);
const allSpace = (s: string) => [...s].every(isSpace);

/** is_header(): length of a "Name:" label at the start of the line (blanks may precede ':'), 0 if none. */
function headerLength(line: string): number {
  const m = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/.exec(line);
  return m ? m[1]!.length : 0;
}

/**
 * bounce_template_parse_buffer(): headers, blank lines, then the text.
 * Returns undefined (after the warning) when the template must be ignored.
 */
function parseTemplate(cls: TemplateClass, origin: string, buffer: string): BounceTemplate | undefined {
  const base = builtin(cls);
  const tp: BounceTemplate = { ...base, origin };
  const lines = buffer.split('\n');
  let i = 0;
  const ignore = (why: string): undefined => {
    warn(`${origin}: ${why} in ${cls} template -- ignoring this template`);
    return undefined;
  };
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    const hlen = headerLength(line);
    if (hlen <= 0) break;
    const label = line.slice(0, hlen);
    let v = hlen;
    while (v < line.length && (line[v] === ':' || isSpace(line[v]))) v++;
    const value = line.slice(v);
    if (!isAscii(value)) return ignore(`non-ASCII "${label}" header value`);
    switch (label.toLowerCase()) {
      case 'charset':
        tp.charset = value;
        break;
      case 'from':
        tp.from = value;
        break;
      case 'subject':
        tp.subject = value;
        break;
      case 'postmaster-subject':
        if (base.postmasterSubject === undefined) return ignore(`inapplicable "${label}" header label`);
        tp.postmasterSubject = value;
        break;
      default:
        return ignore(`unknown "${label}" header label`);
    }
  }
  while (i < lines.length && allSpace(lines[i]!)) i++;
  if (i >= lines.length) return ignore('missing message text');
  tp.lines = lines.slice(i);
  if (!tp.lines.every(isAscii) && tp.charset.toLowerCase() === 'us-ascii') {
    warn(`${origin}: 8-bit message text in ${cls} template`);
    warn('please specify a charset value other than us-ascii');
    warn('-- ignoring this template for now');
    return undefined;
  }
  return tp;
}

/** The four templates in force, with their parsing deferred as Postfix defers it. */
export class BounceTemplates {
  private readonly pending = new Map<TemplateClass, { origin: string; buffer: string }>();
  private readonly parsed = new Map<TemplateClass, BounceTemplate>();

  /** bounce_templates_load(): read a template file (`text` as latin1, `origin` its path). */
  load(text: string, origin: string): void {
    const physical = text.split('\n');
    if (physical[physical.length - 1] === '') physical.pop();
    // Postfix reports the marker from its reused line buffer; keep the same bytes.
    let lineBuf = '';
    const readLine = (k: number): string => {
      const l = physical[k]!;
      lineBuf = l + '\0' + lineBuf.slice(l.length + 1);
      return l;
    };
    let lineno = 1;
    for (let k = 0; k < physical.length; k++) {
      const line = readLine(k);
      lineno++;
      let p = 0;
      while (p < line.length && isSpace(line[p])) p++;
      if (p === line.length || line[p] === '#') continue;
      const nv = splitNameValue(line);
      if (typeof nv === 'string') fatal(`${origin}, line ${lineno}: ${nv}: "${line}"`);
      let [name, value] = nv;
      if (value.startsWith('<<')) {
        let m = 2;
        while (m < value.length && isSpace(value[m])) m++;
        const marker = value.slice(m);
        if (marker === '') fatal(`${origin}, line ${lineno}: missing end marker after <<`);
        if (!/^[A-Za-z0-9]/.test(marker)) fatal(`${origin}, line ${lineno}: malformed end marker after <<`);
        const markerOffset = line.length - marker.length;
        const body: string[] = [];
        let closed = false;
        while (k + 1 < physical.length) {
          const l = readLine(++k);
          lineno++;
          if (l === marker) {
            closed = true;
            break;
          }
          body.push(l);
        }
        if (!closed) {
          const shown = lineBuf.slice(markerOffset).split('\0')[0];
          warn(`${origin}, line ${lineno}: missing "${shown}" end marker`);
        }
        value = body.join('\n');
      }
      const cls = TEMPLATE_CLASSES.find((c) => name === `${c}_template`);
      if (cls) this.pending.set(cls, { origin, buffer: value });
      else warn(`${origin}, line ${lineno}: unknown template name: ${name} -- ignoring this template`);
    }
  }

  get(cls: TemplateClass): BounceTemplate {
    const p = this.pending.get(cls);
    if (p) {
      this.pending.delete(cls);
      const tp = parseTemplate(cls, p.origin, p.buffer);
      if (tp) this.parsed.set(cls, tp);
      else this.parsed.delete(cls);
    }
    return this.parsed.get(cls) ?? builtin(cls);
  }

  /** bounce_templates_dump(): the `postconf -t` text. */
  dump(): string {
    return TEMPLATE_CLASSES.map((cls) => {
      const tp = this.get(cls);
      const pm = tp.postmasterSubject !== undefined ? `Postmaster-Subject: ${tp.postmasterSubject}\n` : '';
      const text = tp.lines.map((l) => `${l}\n`).join('');
      return `${cls}_template = <<EOF\nCharset: ${tp.charset}\nFrom: ${tp.from}\nSubject: ${tp.subject}\n${pm}\n${text}EOF\n`;
    }).join('\n');
  }

  /** bounce_templates_expand(): the `postconf -b` text. */
  expandAll(cfg: PostfixConfig): string {
    return TEMPLATE_CLASSES.map((cls) => {
      const tp = this.get(cls);
      const text = expandTemplate(tp, cfg)
        .map((l) => `${l}\n`)
        .join('');
      return `expanded_${cls}_text = <<EOF\n${text}EOF\n`;
    }).join('\n');
  }
}

const TIME_PARAMETERS = ['delay_warning_time', 'maximal_queue_lifetime'];
const TIME_DIVISORS: ReadonlyArray<[string, number]> = [
  ['seconds', 1],
  ['minutes', 60],
  ['hours', 3600],
  ['days', 86400],
  ['weeks', 604800],
];

/** bounce_template_lookup(): time parameters in a unit, host names, then main.cf. */
function templateLookup(tp: BounceTemplate, cfg: PostfixConfig, key: string): string | undefined {
  for (const param of TIME_PARAMETERS) {
    if (!key.startsWith(param) || key[param.length] !== '_') continue;
    const suffix = key.slice(param.length + 1);
    const divisor = TIME_DIVISORS.find(([s]) => s === suffix)?.[1];
    if (divisor === undefined) fatal(`${tp.origin}: unrecognized suffix "${suffix}" in parameter "${key}"`);
    const seconds = cfg.time(param);
    const result = Math.trunc(seconds / divisor);
    if (result > 999 && divisor < 86400) {
      warn(`${tp.origin}: excessive result "${result}" in ${tp.cls} template conversion of parameter "${key}"`);
      warn(`please increase time unit "${suffix}" of "${key}" in ${tp.cls} template`);
      warn('for instructions see the bounce(5) manual');
    } else if (result === 0 && seconds && divisor > 1) {
      warn(`${tp.origin}: zero result in ${tp.cls} template conversion of parameter "${key}"`);
      warn(`please reduce time unit "${suffix}" of "${key}" in ${tp.cls} template`);
      warn('for instructions see the bounce(5) manual');
    }
    return String(result);
  }
  if ((key === 'myhostname' || key === 'mydomain') && cfg.bool('smtputf8_enable')) {
    const ascii = cfg.get(key);
    if (!isAscii(ascii)) {
      warn(`${tp.origin}: conversion "${key}" failed: non-ASCII input value: "${ascii}"`);
      return ascii;
    }
    return domainToUnicode(ascii) || ascii;
  }
  return cfg.raw(key) === undefined ? undefined : cfg.get(key);
}

/** bounce_template_expand(): each text line with $name expanded (printable). */
export function expandTemplate(tp: BounceTemplate, cfg: PostfixConfig): string[] {
  const utf8 = cfg.bool('smtputf8_enable');
  return tp.lines.map((line) => {
    const res = macExpand(line, (key) => templateLookup(tp, cfg, key), { warn, printable: utf8 ? 'utf8' : 'ascii' });
    if (res.status & MAC_PARSE_ERROR) fatal(`${tp.origin}: bad $name syntax in ${tp.cls} template: ${line}`);
    if (res.status & MAC_PARSE_UNDEF) fatal(`${tp.origin}: undefined $name in ${tp.cls} template: ${line}`);
    return res.value;
  });
}
