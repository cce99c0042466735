/**
 * postfix/config.ts: the typed view of main.cf (and a service's master.cf
 * -o overrides) that daemons and tools read, as mail_conf_read() and
 * mail_params_init() give it to Postfix programs.
 *
 * Values are kept raw and expanded when read ($name, ${name?…}, relational
 * forms; see expand.ts). Lookup order: service -o override > main.cf (or a
 * command-line override) > catalogue default. Errors use Postfix's words:
 * a malformed main.cf line is fatal with file and line; a bad number or
 * boolean is fatal with "bad numerical configuration: name = value".
 */
import { fatal, warn } from '../../src/log/msg.js';
import { MAC_PARSE_ERROR, macExpand } from './expand.js';
import { computedDefault } from './host.js';
import { strerror } from '../../src/util/strerror.js';
import { type NameValueDict, readNameValueFile } from './main-cf.js';
import { findParam, parseBool, parseInt as parseIntParam, parseLong, parseTime } from './params/index.js';

/** -c DIR, else $MAIL_CONFIG, else /etc/postfix (DEF_CONFIG_DIR). */
export function configDirectory(cliDir?: string): string {
  return cliDir ?? process.env.MAIL_CONFIG ?? '/etc/postfix';
}

export interface PostfixConfig {
  readonly configDir: string;
  /** Explicitly set in main.cf, by an override, or by the service's -o. */
  has(name: string): boolean;
  /** Raw value: override/main.cf, else catalogue default; undefined when unknown. */
  raw(name: string): string | undefined;
  /** Fully $-expanded value ('' when unknown). */
  get(name: string): string;
  int(name: string): number;
  long(name: string): number;
  bool(name: string): boolean;
  /** Seconds (the catalogue's default unit applies to bare numbers). */
  time(name: string): number;
  /** Split on blanks and commas, as Postfix splits list parameters. */
  list(name: string): string[];
  /** The view a master.cf service gets: -o overrides plus service_name. */
  withService(params: ReadonlyArray<[string, string]>, serviceName?: string): PostfixConfig;
  /**
   * A per-transport parameter (get_mail_conf_*2 in Postfix): the value of
   * `<transport><suffix>` (e.g. relay_destination_concurrency_limit) when it
   * is set, else of `fallback` (default_destination_concurrency_limit). The
   * name to parse with is returned too, so errors name the parameter read.
   */
  forTransport(transport: string, suffix: string, fallback: string): { name: string; value: string };
}

export interface LoadOptions {
  configDir?: string;
  /** Command-line style overrides (postconf -o, postfix -o): applied after main.cf. */
  overrides?: Array<[string, string]>;
  /** Do not fail when main.cf is missing (a fresh instance); default false. */
  allowMissing?: boolean;
}

class ConfigView implements PostfixConfig {
  private expanded = new Map<string, string>();

  constructor(
    readonly configDir: string,
    private readonly main: NameValueDict,
    private readonly local: ReadonlyMap<string, string>,
    private readonly parentCache: Map<string, string>,
  ) {}

  has(name: string): boolean {
    return this.local.has(name) || this.main.has(name);
  }

  raw(name: string): string | undefined {
    const v = this.local.get(name) ?? this.main.get(name)?.value;
    if (v !== undefined) return v;
    return this.defaultRaw(name);
  }

  private defaultRaw(name: string): string | undefined {
    const def = findParam(name);
    if (!def) return undefined;
    if (def.kind === 'str_fn') return this.computed(name);
    if (def.kind === 'readonly') {
      if (name === 'process_id') return String(process.pid);
      if (name === 'process_name') return this.local.get('process_name') ?? 'postern';
      return this.local.get('service_name') ?? '';
    }
    return def.default;
  }

  /** myhostname, mydomain, mynetworks: computed once per process. */
  private computed(name: string): string {
    let v = this.parentCache.get(name);
    if (v === undefined) {
      const explicit = (n: string) => {
        const raw = this.main.get(n)?.value;
        return raw === undefined ? undefined : this.expand(raw);
      };
      v = computedDefault(name, explicit, (n) => this.get(n));
      this.parentCache.set(name, v);
    }
    return v;
  }

  private expand(value: string): string {
    const res = macExpand(value, (n) => this.raw(n), { recurse: true, warn });
    if (res.status & MAC_PARSE_ERROR) fatal('macro processing error');
    return res.value;
  }

  get(name: string): string {
    let v = this.expanded.get(name);
    if (v !== undefined) return v;
    const raw = this.raw(name);
    if (raw === undefined) return '';
    v = findParam(name)?.kind === 'raw' ? raw : this.expand(raw);
    this.expanded.set(name, v);
    return v;
  }

  private checked<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      return fatal((err as Error).message);
    }
  }

  int(name: string): number {
    return this.checked(() => parseIntParam(name, this.get(name)));
  }
  long(name: string): number {
    return this.checked(() => parseLong(name, this.get(name)));
  }
  bool(name: string): boolean {
    return this.checked(() => parseBool(name, this.get(name)));
  }
  time(name: string): number {
    return this.checked(() => parseTime(name, this.get(name)));
  }
  list(name: string): string[] {
    return this.get(name)
      .split(/[\s,]+/)
      .filter((w) => w.length > 0);
  }

  forTransport(transport: string, suffix: string, fallback: string): { name: string; value: string } {
    const name = transport + suffix;
    if (this.local.has(name) || this.main.has(name) || findParam(name)) return { name, value: this.get(name) };
    return { name: fallback, value: this.get(fallback) };
  }

  withService(params: ReadonlyArray<[string, string]>, serviceName?: string): PostfixConfig {
    const local = new Map(this.local);
    for (const [n, v] of params) local.set(n, v);
    if (serviceName !== undefined) local.set('service_name', serviceName);
    return new ConfigView(this.configDir, this.main, local, this.parentCache);
  }
}

/** Read main.cf under the config directory (mail_conf_read). */
export function loadPostfixConfig(opts: LoadOptions = {}): PostfixConfig {
  const configDir = configDirectory(opts.configDir);
  const main: NameValueDict = new Map();
  main.set('config_directory', { value: configDir, line: 0 });
  const path = `${configDir}/main.cf`;
  const err = readNameValueFile(path, main, warn, fatal);
  if (err && !opts.allowMissing) fatal(`open ${path}: ${strerror(err)}`);
  for (const [n, v] of opts.overrides ?? []) {
    main.delete(n);
    main.set(n, { value: v, line: 0 });
  }
  return new ConfigView(configDir, main, new Map(), new Map());
}
