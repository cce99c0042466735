/**
 * auth/template.ts: `default_fields`, `override_fields` and the args of the
 * static passdb/userdb (passdb-template.c, userdb-template.c): space
 * separated `key=value` pairs whose values are %-expanded per request.
 * userdb templates resolve `uid=`/`gid=` names once, when built.
 */
import type { AuthRequest } from './request.js';
import { lookupGid, lookupUid } from './unix-users.js';

export class TemplateError extends Error {}

export class FieldTemplate {
  private constructor(readonly args: Array<[string, string | undefined]>) {}

  static passdb(args: string): FieldTemplate {
    const out: Array<[string, string | undefined]> = [];
    for (const tok of args.split(' ').filter(Boolean)) {
      const eq = tok.indexOf('=');
      const key = eq < 0 ? tok : tok.slice(0, eq);
      if (key === '') throw new TemplateError(`Invalid passdb template ${args} - key must not be empty`);
      out.push([key, eq < 0 ? undefined : tok.slice(eq + 1)]);
    }
    return new FieldTemplate(out);
  }

  static userdb(userdbName: string, args: string): FieldTemplate {
    const out: Array<[string, string | undefined]> = [];
    for (const tok of args.split(' ').filter(Boolean)) {
      const eq = tok.indexOf('=');
      const key = eq < 0 ? tok : tok.slice(0, eq);
      if (key === '') throw new TemplateError(`Invalid userdb template ${args} - key must not be empty`);
      let value = eq < 0 ? undefined : tok.slice(eq + 1);
      const k = key.toLowerCase();
      if (k === 'uid') {
        const uid = lookupUid(value ?? '');
        if (uid === undefined) throw new TemplateError(`${userdbName} userdb: Invalid uid: ${value ?? ''}`);
        value = String(uid);
      } else if (k === 'gid') {
        const gid = lookupGid(value ?? '');
        if (gid === undefined) throw new TemplateError(`${userdbName} userdb: Invalid gid: ${value ?? ''}`);
        value = String(gid);
      }
      out.push([key, value]);
    }
    return new FieldTemplate(out);
  }

  isEmpty(): boolean {
    return this.args.length === 0;
  }

  /** Remove `key` and return [found, value]. */
  remove(key: string): [boolean, string | undefined] {
    const i = this.args.findIndex(([k]) => k === key);
    if (i < 0) return [false, undefined];
    const v = this.args[i]![1];
    this.args.splice(i, 1);
    return [true, v];
  }

  /** Expand each value and hand it to `set` in order (a value may use a field set before it). */
  private run(req: AuthRequest, set: (k: string, v: string) => void): string | undefined {
    for (const [k, v] of this.args) {
      if (v === undefined) set(k, '');
      else {
        const r = req.expand(v);
        if (r.ret <= 0) return r.error ?? 'expansion failed';
        set(k, r.value);
      }
    }
    return undefined;
  }

  /** Set the fields as passdb fields; returns an error text when a value fails to expand. */
  exportPassdb(req: AuthRequest): string | undefined {
    return this.run(req, (k, v) => req.setField(k, v, 'PLAIN'));
  }

  exportUserdb(req: AuthRequest): string | undefined {
    return this.run(req, (k, v) => req.setUserdbField(k, v));
  }
}
