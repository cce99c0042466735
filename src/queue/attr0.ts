/**
 * queue/attr0.ts: Postfix's attr_print0/attr_scan0 wire format (util/attr_print0.c,
 * attr_scan0.c), used between sendmail and postdrop: each attribute is
 * "name\0value\0" and a request ends with an empty name ("\0").
 *
 *   postdrop -> sendmail:  protocol\0postdrop_protocol\0queue_id\0ID\0\0
 *   sendmail -> postdrop:  queue file records (record.ts) up to and including E
 *   postdrop -> sendmail:  status\0N\0reason\0TEXT\0\0
 */

/** attr_print0(): encode one request. */
export function attrPrint0(attrs: ReadonlyArray<[string, string | number]>): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of attrs) {
    parts.push(Buffer.from(`${n}\0`, 'latin1'), Buffer.from(`${typeof v === 'number' ? v >>> 0 : v}\0`, 'latin1'));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/**
 * attr_scan0(): decode one request from `buf` at `offset`. Returns the
 * attributes and the offset after the terminator, or undefined when the
 * request is not complete yet.
 */
export function attrScan0(buf: Buffer, offset = 0): { attrs: Map<string, string>; end: number } | undefined {
  const attrs = new Map<string, string>();
  let p = offset;
  for (;;) {
    const z = buf.indexOf(0, p);
    if (z < 0) return undefined;
    const name = buf.toString('latin1', p, z);
    p = z + 1;
    if (name === '') return { attrs, end: p };
    const z2 = buf.indexOf(0, p);
    if (z2 < 0) return undefined;
    attrs.set(name, buf.toString('latin1', p, z2));
    p = z2 + 1;
  }
}
