/** Queue record format, queue IDs and the queue layout (src/queue/record.ts, queue-id.ts, layout.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeRecord,
  format15,
  formatSize,
  parseSize,
  readRecord,
  REC_EOF,
  REC_ERROR,
  Rec,
  recAttrMap,
  recordSize,
  recTypeName,
  splitAttr,
} from '../../src/queue/record.js';
import {
  hexUsecOfLongId,
  inodeOfQueueId,
  longIdSeparator,
  makeQueueId,
  queueIdOk,
  safeStrtoul,
  safeUltostr,
} from '../../src/queue/queue-id.js';
import { queueLayout, queueRelPath } from '../../src/queue/layout.js';
import { attrPrint0, attrScan0 } from '../../src/queue/attr0.js';
import { asctime, mailDate } from '../../src/queue/dates.js';

describe('record encoding', () => {
  it('writes the length in 7-bit groups, low group first', () => {
    assert.deepEqual([...encodeRecord(Rec.NORM, '')], [0x4e, 0x00]);
    assert.deepEqual([...encodeRecord(Rec.NORM, 'a'.repeat(127)).subarray(0, 2)], [0x4e, 0x7f]);
    assert.deepEqual([...encodeRecord(Rec.NORM, 'a'.repeat(128)).subarray(0, 3)], [0x4e, 0x80, 0x01]);
    assert.deepEqual([...encodeRecord(Rec.NORM, 'a'.repeat(300)).subarray(0, 3)], [0x4e, 0xac, 0x02]);
    assert.deepEqual([...encodeRecord(Rec.NORM, 'a'.repeat(1 << 21)).subarray(0, 5)], [0x4e, 0x80, 0x80, 0x80, 0x01]);
    for (const n of [0, 1, 127, 128, 16383, 16384, 1 << 21]) assert.equal(recordSize(n), encodeRecord(Rec.NORM, 'x'.repeat(n)).length);
  });

  it('round-trips bytes (latin1) and reports offsets', () => {
    const data = Buffer.from([0, 1, 0x0a, 0x80, 0xff]).toString('latin1');
    const buf = Buffer.concat([encodeRecord(Rec.FROM, 'a@b'), encodeRecord(Rec.NORM, data)]);
    const r1 = readRecord(buf, 0);
    assert.deepEqual([r1.type, r1.data, r1.offset, r1.end], [Rec.FROM, 'a@b', 0, 5]);
    const r2 = readRecord(buf, r1.end);
    assert.equal(r2.data, data);
    assert.equal(readRecord(buf, r2.end).type, REC_EOF);
  });

  it('reports malformed records with record.c words', () => {
    assert.deepEqual(
      [readRecord(Buffer.from([0x4e]), 0).type, readRecord(Buffer.from([0x4e]), 0).error],
      [REC_ERROR, 'unexpected EOF reading length, record type 78'],
    );
    assert.equal(readRecord(Buffer.from([0x4e, 0x05, 0x61]), 0).error, 'unexpected EOF in data, record type 78 length 5');
    assert.equal(readRecord(Buffer.from([0x4e, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 0).error, 'too many length bits, record type 78');
    assert.equal(readRecord(encodeRecord(Rec.NORM, 'abcdef'), 0, 5).error, 'illegal length 6, record type 78');
  });

  it('fixed-width SIZE and WARN records', () => {
    const s = formatSize([415, 693, 1, 0, 415, 0]);
    assert.equal(s, '            415             693               1               0             415               0');
    assert.equal(encodeRecord(Rec.SIZE, s).length, 97);
    assert.deepEqual(parseSize(s), { contentSize: 415, dataOffset: 693, rcptCount: 1, qmgrFlags: 0, contentLength: 415, smtputf8: 0 });
    assert.equal(format15(-1), '             -1');
  });

  it('names, attributes and pseudo types', () => {
    assert.equal(recTypeName(Rec.CONT), 'content_filter'); // 'L' is listed first as the filter
    assert.equal(recTypeName(0x21), 'unknown_record_type');
    assert.equal(recAttrMap('dsn_orig_rcpt'), Rec.DSN_ORCPT);
    assert.equal(recAttrMap('notify_flags'), Rec.DSN_NOTIFY);
    assert.equal(recAttrMap('envelope_id'), Rec.DSN_ENVID);
    assert.equal(recAttrMap('ret_flags'), Rec.DSN_RET);
    assert.equal(recAttrMap('create_time'), Rec.CTIME);
    assert.equal(recAttrMap('log_ident'), 0);
    assert.deepEqual(splitAttr(' name = value '), ['name', 'value']);
    assert.equal(splitAttr('=x'), 'missing attribute name');
    assert.equal(splitAttr('name'), "missing '=' after attribute name");
  });
});

describe('queue IDs', () => {
  it('short form: %05X usec + %lX inode', () => {
    assert.equal(makeQueueId(0, 0x91a48, 0x20c6bf, false), '91A4820C6BF');
    assert.equal(makeQueueId(0, 5, 1, false), '000051');
    assert.equal(inodeOfQueueId('91A4820C6BF'), 0x20c6bf);
  });

  it('long form: base-52 seconds (6+), base-52 usec (4), z, base-51 inode', () => {
    const id = makeQueueId(1795366448, 123456, 2148031, true);
    assert.match(id, /^[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+$/);
    const z = longIdSeparator(id);
    assert.equal(safeStrtoul(id.slice(z - 4, z), 52), 123456);
    assert.equal(inodeOfQueueId(id), 2148031);
    assert.equal(hexUsecOfLongId(id, z), '1E240');
    assert.equal(safeUltostr(0, 52, 4), '0000');
    assert.ok(!safeUltostr(10 ** 9, 51, 0).includes('z'));
  });

  it('valid IDs and queue names', () => {
    assert.ok(queueIdOk('ABC_def123'));
    assert.ok(!queueIdOk('bad/id'));
    assert.ok(!queueIdOk(''));
    assert.ok(!queueIdOk('x'.repeat(256)));
  });

  it('hashed queue paths as mail_queue_path()', () => {
    const l = queueLayout('/q');
    assert.equal(queueRelPath(l, 'deferred', '93F5E20C6BE'), 'deferred/9/93F5E20C6BE');
    assert.equal(queueRelPath(l, 'hold', '587B520C6DB'), 'hold/587B520C6DB');
    // Long IDs hash on the hex microseconds (real: deferred/8/4jXb3m3nq8zJ99b).
    assert.equal(queueRelPath(l, 'deferred', '4jXb3m3nq8zJ99b'), 'deferred/8/4jXb3m3nq8zJ99b');
    const l2 = queueLayout('/q', 'incoming deferred', 2);
    assert.equal(queueRelPath(l2, 'incoming', 'A'), 'incoming/A/_/A');
  });
});

describe('postdrop protocol and dates', () => {
  it('attr_print0 / attr_scan0', () => {
    const b = attrPrint0([
      ['protocol', 'postdrop_protocol'],
      ['queue_id', 'ABC'],
    ]);
    assert.equal(b.toString('latin1'), 'protocol\0postdrop_protocol\0queue_id\0ABC\0\0');
    const r = attrScan0(Buffer.concat([b, Buffer.from('rest')]));
    assert.deepEqual([...r!.attrs], [
      ['protocol', 'postdrop_protocol'],
      ['queue_id', 'ABC'],
    ]);
    assert.equal(r!.end, b.length);
    assert.equal(attrScan0(b.subarray(0, 10)), undefined);
    assert.equal(attrPrint0([['status', -1]]).toString('latin1'), 'status\x004294967295\0\0');
  });

  it('asctime and mail_date in the local zone', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      assert.equal(asctime(-1), 'Wed Dec 31 23:59:59 1969\n');
      assert.equal(asctime(1795366448), 'Sun Nov 22 16:54:08 2026\n');
      assert.equal(mailDate(1795366448), 'Sun, 22 Nov 2026 16:54:08 +0000 (UTC)');
      assert.equal(mailDate(1704067200), 'Mon,  1 Jan 2024 00:00:00 +0000 (UTC)');
    } finally {
      process.env.TZ = tz;
    }
  });
});
