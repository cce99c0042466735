/**
 * maps/surrogate.ts: a stand-in for a table that could not be opened, as
 * Postfix's util/dict_surrogate.c. Command-line tools (postmap, postalias)
 * treat an open error as fatal: the driver's DictError message is the text
 * after "fatal: ". Daemons instead log the reason once at open time
 * ("error: ...") and keep running: every access to the surrogate logs
 * "TYPE:NAME is unavailable. REASON" and fails with a retry error, so the
 * mail that needs the table is deferred rather than lost.
 */
import { error as logError, warn } from '../log/msg.js';
import { openTable } from './registry.js';
import type { LookupTable, OpenOptions } from './types.js';
import { DictError, DictFlag } from './types.js';

/** Postfix's errno text for a failure with no errno (vbuf_print "%m" with errno 0). */
export const APPLICATION_ERROR = 'Application error';

/**
 * An open error that Postfix reports with msg_fatal() even in daemons
 * (dict_open's "type:name" check, the proxymap client's refusals): never
 * replaced by a surrogate.
 */
export class DictFatalError extends DictError {
  constructor(table: string, message: string) {
    super('config', table, message);
  }
}

/** dict_surrogate(): a table whose every operation fails with "retry". */
export function surrogateTable(type: string, name: string, opts: OpenOptions, reason: string): LookupTable {
  const label = `${type}:${name}`;
  const fail = (): never => {
    warn(`${label} is unavailable. ${reason}`);
    throw new DictError('retry', label, APPLICATION_ERROR);
  };
  const table: LookupTable = {
    type,
    name,
    flags: opts.dictFlags | DictFlag.PATTERN,
    lookup: async () => fail(),
    sequence: () => ({
      [Symbol.asyncIterator]: () => ({ next: async () => fail() }),
    }),
    close: async () => undefined,
  };
  if (opts.mode !== 'read') {
    table.update = async () => fail();
    table.delete = async () => fail();
  }
  return table;
}

/**
 * dict_open() in a daemon (dict_allow_surrogate = 1): a table that cannot
 * be opened because of its configuration becomes a surrogate, after one
 * "error:" log line. Errors that Postfix treats as fatal even in daemons
 * (no "type:name" form) still throw.
 */
export async function openTableOrSurrogate(type: string, name: string, opts: OpenOptions): Promise<LookupTable> {
  try {
    return await openTable(type, name, opts);
  } catch (err) {
    if (!(err instanceof DictError) || err.kind !== 'config' || isFatalEvenInDaemons(err)) throw err;
    logError(err.message);
    return surrogateTable(type, name, opts, err.message);
  }
}

function isFatalEvenInDaemons(err: DictError): boolean {
  return err instanceof DictFatalError || err.message.startsWith('open dictionary: expecting "type:name" form');
}
