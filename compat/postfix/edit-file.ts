/**
 * postfix/edit-file.ts: rewrite a configuration file the way Postfix's
 * edit_file(3) does for `postconf -e/-X/-#` and `-Me/-Fe/-Pe/…`: the new text
 * goes to PATH.tmp (created mode 0600), which is then set to 0644, fsynced
 * and renamed over PATH. Readers never see a half-written file.
 *
 * On a fatal error while the new text is produced, postconf leaves PATH.tmp
 * behind holding what its 4096-byte stdio buffer had flushed by then; this
 * keeps that too, so a rerun sees the same state.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { fatal } from '../../src/log/msg.js';
import { strerror } from '../../src/util/strerror.js';

/** What the editor has written so far (used for the partial temp file on a fatal error). */
export interface EditSink {
  text: string;
}

/** Edit PATH: `produce` gets the old text (latin1: bytes kept) and returns the new text. */
export function editFile(path: string, produce: (text: string, sink: EditSink) => string): void {
  const tmp = `${path}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w', 0o600);
  } catch (err) {
    fatal(`open ${tmp}: ${strerror(err)}`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    fatal(`open ${path} for reading: ${strerror(err)}`);
  }
  const sink: EditSink = { text: '' };
  let result: string;
  try {
    result = produce(text, sink);
  } catch (err) {
    const done = Buffer.from(sink.text, 'latin1');
    const flushed = done.length - (done.length % 4096);
    if (flushed > 0) writeSync(fd, done, 0, flushed);
    closeSync(fd);
    throw err;
  }
  try {
    const buf = Buffer.from(result, 'latin1');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    fchmodSync(fd, 0o644);
    fsyncSync(fd);
    renameSync(tmp, path);
    closeSync(fd);
  } catch (err) {
    try {
      closeSync(fd);
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    fatal(`close ${tmp}: ${strerror(err)}`);
  }
}
