/**
 * auth/fields.ts: an ordered set of auth reply fields (auth-fields.c): the
 * passdb "extra fields" and the userdb reply. A field may have no value (a
 * bare flag such as `nologin`; an empty value is stored as none, as
 * p_strdup_empty does), may be hidden from the client reply (fields that
 * only steer the server, e.g. `userdb_*` set by a passdb), and remembers
 * whether it changed since the last snapshot so a failed passdb lookup can
 * roll its fields back.
 */
import { tabEscape } from './protocol.js';

export const FIELD_HIDDEN = 1;
export const FIELD_CHANGED = 2;

interface Field {
  key: string;
  value: string | null;
  flags: number;
}

export class AuthFields {
  private fields: Field[] = [];
  private snap: Field[] | undefined;
  private snapshotted = false;

  private preserve(): void {
    if (this.snapshotted && this.snap === undefined) this.snap = this.fields.map((f) => ({ ...f }));
  }

  add(key: string, value: string | null | undefined, flags = 0): void {
    let f = this.fields.find((x) => x.key === key);
    if (!f) {
      f = { key, value: null, flags: 0 };
      this.fields.push(f);
    } else {
      this.preserve();
    }
    f.value = value === undefined || value === null || value === '' ? null : value;
    f.flags = flags | FIELD_CHANGED;
  }

  remove(key: string): void {
    const i = this.fields.findIndex((x) => x.key === key);
    if (i >= 0) {
      this.preserve();
      this.fields.splice(i, 1);
    }
  }

  /** The value ('' for a bare flag), or undefined when absent. */
  find(key: string): string | undefined {
    const f = this.fields.find((x) => x.key === key);
    return f === undefined ? undefined : (f.value ?? '');
  }

  exists(key: string): boolean {
    return this.fields.some((x) => x.key === key);
  }

  isEmpty(): boolean {
    return this.fields.length === 0;
  }

  reset(): void {
    if (this.fields.length) {
      this.preserve();
      this.fields = [];
    }
  }

  /** Drop the value of `key` (auth_fields_booleanize). */
  booleanize(key: string): void {
    const f = this.fields.find((x) => x.key === key);
    if (f) f.value = null;
  }

  /** Fields whose flags masked by `mask` equal `result`, as "k=v\tk2" (auth_fields_append). */
  append(mask: number, result: number): string {
    return this.fields
      .filter((f) => (f.flags & mask) === result)
      .map((f) => (f.value === null ? f.key : `${f.key}=${tabEscape(f.value)}`))
      .join('\t');
  }

  /** Every field in order: [key, value|null, flags]. */
  entries(): Array<[string, string | null, number]> {
    return this.fields.map((f) => [f.key, f.value, f.flags]);
  }

  snapshot(): void {
    this.snapshotted = true;
    this.snap = this.snap === undefined ? undefined : this.fields.map((f) => ({ ...f }));
    this.snapIdx = this.fields.length;
    for (const f of this.fields) f.flags &= ~FIELD_CHANGED;
    if (this.snap !== undefined) for (const f of this.snap) f.flags &= ~FIELD_CHANGED;
  }
  private snapIdx = 0;

  rollback(): void {
    if (this.snap !== undefined) this.fields = this.snap.map((f) => ({ ...f }));
    else this.fields.splice(this.snapIdx);
  }

  /** Import "k=v\tk2" (already split) fields. */
  importFields(list: string[], prefix = '', flags = 0): void {
    for (const item of list) {
      const eq = item.indexOf('=');
      if (eq < 0) this.add(item, null, flags);
      else this.add(prefix + item.slice(0, eq), item.slice(eq + 1), flags);
    }
  }
}
