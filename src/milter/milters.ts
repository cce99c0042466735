/**
 * milter/milters.ts: a chain of mail filters (Postfix milter.c): the
 * smtpd_milters / non_smtpd_milters list with per-milter overrides
 * `{ inet:host:port, connect_timeout=10s, default_action=accept }`, the
 * per-stage macro lists with milter_macro_defaults, and the events sent to
 * each filter in turn until one of them answers with something other than
 * "go on".
 */
import type { PostfixConfig } from '../../compat/postfix/config.js';
import { type ContentRecord, type MacroList, type MacroLists, Milter8, type MilterEdits, type MilterLog } from './milter8.js';

export type { ContentRecord, MacroList, MilterEdits, MilterLog } from './milter8.js';

/** The value of one Sendmail macro ("{i}", "{j}", ...) or undefined when it has none. */
export type MacroLookup = (name: string) => string | undefined;

export interface MilterSettings {
  connTimeout: number;
  cmdTimeout: number;
  msgTimeout: number;
  protocol: string;
  defAction: string;
  macros: MacroLists;
  macroDefaults: Map<string, string>;
  softBounce: boolean;
  lineLimit: number;
  daemonName: string;
  macroV: string;
}

/** Time value with Postfix's units (s default): "30s", "5m", "1h", "10". */
function parseTime(v: string, what: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(v.trim());
  if (!m) throw new Error(`invalid time value in ${what}: "${v}"`);
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]] ?? 1;
  return Number(m[1]) * mult;
}

/** The main.cf milter_* parameters. */
export function readMilterSettings(cfg: Pick<PostfixConfig, 'get' | 'int' | 'bool' | 'time'>): MilterSettings {
  return {
    connTimeout: cfg.time('milter_connect_timeout'),
    cmdTimeout: cfg.time('milter_command_timeout'),
    msgTimeout: cfg.time('milter_content_timeout'),
    protocol: cfg.get('milter_protocol'),
    defAction: cfg.get('milter_default_action'),
    macros: {
      conn: cfg.get('milter_connect_macros'),
      helo: cfg.get('milter_helo_macros'),
      mail: cfg.get('milter_mail_macros'),
      rcpt: cfg.get('milter_rcpt_macros'),
      data: cfg.get('milter_data_macros'),
      eoh: cfg.get('milter_end_of_header_macros'),
      eod: cfg.get('milter_end_of_data_macros'),
      unk: cfg.get('milter_unknown_command_macros'),
    },
    macroDefaults: parseMacroDefaults(cfg.get('milter_macro_defaults')),
    softBounce: cfg.bool('soft_bounce'),
    lineLimit: cfg.int('line_length_limit'),
    daemonName: cfg.get('milter_macro_daemon_name'),
    macroV: cfg.get('milter_macro_v'),
  };
}

/** Split on blanks/commas, keeping `{ ... }` groups whole (mystrtokq). */
export function splitQuoted(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i])) i++;
    if (i >= s.length) break;
    const start = i;
    let depth = 0;
    while (i < s.length && (depth > 0 || !/[\s,]/.test(s[i]))) {
      if (s[i] === '{') depth++;
      else if (s[i] === '}') depth--;
      i++;
    }
    out.push(s.slice(start, i));
  }
  return out;
}

/** milter_macro_defaults: name=value or { name = value }; names canonical as "{name}". */
export function parseMacroDefaults(s: string): Map<string, string> {
  const map = new Map<string, string>();
  for (let word of splitQuoted(s)) {
    if (word.startsWith('{') && word.endsWith('}') && word.includes('=') && !/^\{[^}]*\}=/.test(word)) word = word.slice(1, -1).trim();
    const eq = word.indexOf('=');
    if (eq < 0) throw new Error(`malformed default macro entry: missing '=' in "${word}" in "${s}"`);
    let name = word.slice(0, eq).trim();
    const value = word.slice(eq + 1).trim();
    if (!name.startsWith('{')) name = `{${name}}`;
    if (map.has(name)) continue;
    map.set(name, value);
  }
  return map;
}

interface MilterSpec {
  name: string;
  connTimeout: number;
  cmdTimeout: number;
  msgTimeout: number;
  protocol: string;
  defAction: string;
}

/** Parse the milter list with its per-milter `{ name, key=value ... }` overrides (milter_new). */
export function parseMilterList(names: string, s: MilterSettings): MilterSpec[] {
  const out: MilterSpec[] = [];
  for (const word of splitQuoted(names)) {
    const spec: MilterSpec = {
      name: word,
      connTimeout: s.connTimeout,
      cmdTimeout: s.cmdTimeout,
      msgTimeout: s.msgTimeout,
      protocol: s.protocol,
      defAction: s.defAction,
    };
    if (word.startsWith('{')) {
      if (!word.endsWith('}')) throw new Error(`milter service syntax error: missing '}' in "${word}"`);
      const parts = splitQuoted(word.slice(1, -1));
      if (parts.length === 0) throw new Error(`empty milter definition: "${names}"`);
      spec.name = parts[0];
      for (const p of parts.slice(1)) {
        const eq = p.indexOf('=');
        const key = (eq < 0 ? p : p.slice(0, eq)).trim();
        const value = eq < 0 ? '' : p.slice(eq + 1).trim();
        if (key === 'connect_timeout') spec.connTimeout = parseTime(value, key);
        else if (key === 'command_timeout') spec.cmdTimeout = parseTime(value, key);
        else if (key === 'content_timeout') spec.msgTimeout = parseTime(value, key);
        else if (key === 'protocol') spec.protocol = value;
        else if (key === 'default_action') spec.defAction = value;
        else throw new Error(`unknown attribute name: "${key}"`);
      }
    }
    out.push(spec);
  }
  return out;
}

type Stage = keyof MacroLists;

export class Milters {
  readonly list: Milter8[];
  lookup: MacroLookup = () => undefined;

  constructor(
    names: string,
    readonly settings: MilterSettings,
    readonly log: MilterLog,
  ) {
    this.list = parseMilterList(names, settings).map(
      (spec) =>
        new Milter8({
          ...spec,
          softBounce: settings.softBounce,
          lineLimit: settings.lineLimit,
          log,
        }),
    );
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** milter_macro_lookup(): name/value pairs for the names that have a value. */
  private evalMacros(names: string): MacroList {
    const out: MacroList = [];
    for (const name of names.split(/[\s,]+/).filter(Boolean)) {
      const cname = name.startsWith('{') ? name : `{${name}}`;
      let value = this.lookup(cname);
      if (value === undefined) value = this.settings.macroDefaults.get(cname);
      if (value !== undefined) out.push([name, value]);
    }
    return out;
  }

  private macrosFor(m: Milter8, stage: Stage): MacroList {
    const own = m.macros?.[stage as keyof NonNullable<Milter8['macros']>];
    return this.evalMacros(own ? own : this.settings.macros[stage]);
  }

  private async each(fn: (m: Milter8) => Promise<string | undefined>): Promise<string | undefined> {
    for (const m of this.list) {
      const r = await fn(m);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  connEvent(name: string, addr: string, port: string, family: number): Promise<string | undefined> {
    return this.each(async (m) => {
      await m.connect();
      return m.connEvent(name, addr, port, family, this.macrosFor(m, 'conn'));
    });
  }

  heloEvent(helo: string): Promise<string | undefined> {
    return this.each((m) => m.heloEvent(helo, this.macrosFor(m, 'helo')));
  }

  mailEvent(args: readonly string[]): Promise<string | undefined> {
    return this.each((m) => m.mailEvent(args, this.macrosFor(m, 'mail')));
  }

  /** With wantRej, only filters that asked for rejected recipients (SMFIP_RCPT_REJ) hear it. */
  rcptEvent(args: readonly string[], wantRej = false): Promise<string | undefined> {
    return this.each(async (m) => (wantRej && !m.wantRcptRej ? undefined : m.rcptEvent(args, this.macrosFor(m, 'rcpt'))));
  }

  dataEvent(): Promise<string | undefined> {
    return this.each((m) => m.dataEvent(this.macrosFor(m, 'data')));
  }

  unknownEvent(command: string): Promise<string | undefined> {
    return this.each((m) => m.unknownEvent(command, this.macrosFor(m, 'unk')));
  }

  otherEvent(): string | undefined {
    for (const m of this.list) {
      const r = m.otherEvent();
      if (r !== undefined) return r;
    }
    return undefined;
  }

  message(content: readonly ContentRecord[], autoHdrs: readonly string[], edits: MilterEdits): Promise<string | undefined> {
    return this.each((m) => m.message(content, this.macrosFor(m, 'eoh'), this.macrosFor(m, 'eod'), autoHdrs, edits));
  }

  abort(): void {
    for (const m of this.list) m.abort();
  }

  discEvent(): void {
    for (const m of this.list) m.discEvent();
  }

  /** milter_free(): close all sockets. */
  close(): void {
    for (const m of this.list) m.close();
  }
}
