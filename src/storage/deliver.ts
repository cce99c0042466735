/**
 * storage/deliver.ts: local delivery into a user's mailbox, shared by the
 * LMTP server and dovecot-lda (lib-lda/mail-deliver.c mail_deliver):
 *
 * 1. Save into the default mailbox (INBOX, the -m folder, or the +detail
 *    folder with lmtp_save_to_detail_mailbox). A folder that does not
 *    exist is created only with lda_mailbox_autocreate (and subscribed with
 *    lda_mailbox_autosubscribe).
 * 2. If that fails for any reason but a temporary one, save into INBOX.
 * 3. The result: saved, or the last storage error, classified as Dovecot
 *    does: MAIL_ERROR_NOQUOTA → 'noquota', everything else → 'temp'.
 *
 * Multi-recipient LMTP deliveries copy the first saved file by hard link
 * (`src`), keeping its base name/GUID, as Dovecot's raw → maildir copy does.
 *
 * The log line ("msgid=<…>: saved mail to INBOX" / "save failed to …") is
 * produced through `log`, in Dovecot's words.
 */
import { MailError } from './errors.js';
import type { MaildirMailbox } from './maildir/mailbox.js';
import type { MailUser } from './user.js';

export interface DeliverInput {
  user: MailUser;
  /** The message as it is to be stored (added headers included). */
  message: Buffer;
  /** rcpt_default_mailbox (vname). */
  mailbox: string;
  autoCreate?: boolean;
  autoSubscribe?: boolean;
  flags?: string[];
  /** A file saved for an earlier recipient to hard-link from. */
  src?: string;
  envelopeFrom?: string;
  /** INTERNALDATE (dovecot-lda: the From_ line's date or the -p file's mtime). */
  internalDate?: Date;
  /** Log a delivery line ("saved mail to INBOX"). */
  log?(text: string): void;
}

export type DeliverResult =
  | { ok: true; mailbox: string; uid: number; storagePath?: string }
  | { ok: false; kind: 'noquota' | 'temp'; error: string };

/** str_sanitize(mailbox, 80) as used in the log lines. */
const logName = (s: string): string => (s.length > 80 ? `${s.slice(0, 77)}...` : s);

async function saveTo(input: DeliverInput, vname: string): Promise<{ uid: number; storagePath?: string }> {
  const ns = input.user.findNamespace(vname);
  if (!ns) throw new MailError('notfound', `Mailbox doesn't exist: ${vname}`);
  const storage = ns.storage;
  const box = (await storage.open(vname, {
    noSync: true,
    ...(input.autoCreate ? { autoCreate: true } : {}),
    ...(input.autoSubscribe ? { autoSubscribe: true } : {}),
  })) as MaildirMailbox;
  try {
    if (input.src && typeof box.appendHardlink === 'function') {
      const r = await box.appendHardlink(input.src, 0, input.flags ?? [], { postSession: true });
      if (r) return { uid: r.uid, ...(r.storagePath ? { storagePath: r.storagePath } : {}) };
    }
    const r = await box.append(input.message, {
      postSession: true,
      ...(input.flags ? { flags: input.flags } : {}),
      ...(input.envelopeFrom !== undefined ? { envelopeFrom: input.envelopeFrom } : {}),
      ...(input.internalDate ? { internalDate: input.internalDate } : {}),
    });
    return { uid: r.uid, ...(r.storagePath ? { storagePath: r.storagePath } : {}) };
  } finally {
    await box.close();
  }
}

/** mail_deliver(): save, falling back to INBOX. */
export async function deliver(input: DeliverInput): Promise<DeliverResult> {
  const tried: string[] = [];
  let lastError: MailError | undefined;
  const attempt = async (vname: string): Promise<DeliverResult | undefined> => {
    tried.push(vname);
    try {
      const r = await saveTo(input, vname);
      input.log?.(`saved mail to ${logName(vname)}`);
      return { ok: true, mailbox: vname, uid: r.uid, ...(r.storagePath ? { storagePath: r.storagePath } : {}) };
    } catch (e) {
      const me = e instanceof MailError ? e : new MailError('internal', (e as Error).message);
      lastError = me;
      if (me.kind === 'notfound' || me.kind === 'params') input.log?.(`save failed to open mailbox ${logName(vname)}: ${me.message}`);
      else input.log?.(`save failed to ${logName(vname)}: ${me.internal ?? me.message}`);
      return undefined;
    }
  };
  const isTemp = () => lastError?.kind === 'temp';
  let r = await attempt(input.mailbox);
  if (r) return r;
  if (isTemp()) return fail(lastError);
  if (input.mailbox.toUpperCase() !== 'INBOX') {
    r = await attempt('INBOX');
    if (r) return r;
  }
  return fail(lastError);
}

function fail(e: MailError | undefined): DeliverResult {
  if (e?.kind === 'noquota') return { ok: false, kind: 'noquota', error: e.message };
  return { ok: false, kind: 'temp', error: e?.message ?? 'Temporary internal error' };
}
