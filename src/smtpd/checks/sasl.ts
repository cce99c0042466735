/**
 * smtpd/checks/sasl.ts: the SASL sender-ownership restrictions of
 * smtpd_check.c: reject_authenticated_sender_login_mismatch,
 * reject_known_sender_login_mismatch,
 * reject_unauthenticated_sender_login_mismatch and
 * reject_sender_login_mismatch (= the first and the last), with
 * smtpd_sender_login_maps (mail_addr_find(): the address, then its
 * localpart-without-extension and @domain forms).
 */
import { findAddress, MapList } from '../../maps/query.js';
import { DictError, DictFlag } from '../../maps/types.js';
import { RESOLVE_FLAG_FAIL } from '../../rewrite/resolve.js';
import type { SmtpdSettings } from '../settings.js';
import { MailError } from '../state.js';
import { registerRestriction } from './registry.js';
import { type CheckContext, DUNNO } from './types.js';

const loginMaps = new WeakMap<SmtpdSettings, Promise<MapList> | undefined>();

function senderLoginMaps(settings: SmtpdSettings): Promise<MapList> | undefined {
  if (!loginMaps.has(settings)) {
    const value = settings.cfg.get('smtpd_sender_login_maps');
    loginMaps.set(
      settings,
      value.trim() === ''
        ? undefined
        : MapList.open('smtpd_sender_login_maps', value, {
            mode: 'read',
            dictFlags: DictFlag.LOCK | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST,
            param: (n) => settings.cfg.get(n),
            progName: 'smtpd',
            surrogate: true,
          }),
    );
  }
  return loginMaps.get(settings);
}

/** check_mail_addr_find() on smtpd_sender_login_maps; undefined when not found. */
async function owners(ctx: CheckContext, maps: Promise<MapList>, sender: string): Promise<string | undefined> {
  const s = ctx.settings;
  const reply = await s.resolver.resolve(sender);
  if (reply.flags & RESOLVE_FLAG_FAIL) ctx.dictRetry(sender);
  try {
    const hit = await findAddress(await maps, reply.recipient, {
      recipientDelimiter: s.cfg.get('recipient_delimiter'),
      doubleBounceSender: s.cfg.get('double_bounce_sender'),
    });
    return hit?.value;
  } catch (err) {
    if (err instanceof DictError && err.kind === 'retry') ctx.dictRetry(sender);
    if (err instanceof DictError) ctx.serverError();
    throw err;
  }
}

async function authMismatch(ctx: CheckContext, allowUnknown: boolean): Promise<number> {
  const maps = senderLoginMaps(ctx.settings);
  const sender = ctx.state.sender ?? '';
  const user = ctx.state.saslUsername;
  if (!maps || user === undefined) return DUNNO;
  const list = await owners(ctx, maps, sender);
  if (list === undefined && allowUnknown) return DUNNO;
  const found = (list ?? '')
    .split(/[\t\n\r ,]+/)
    .some((n) => n !== '' && n.toLowerCase() === user.toLowerCase());
  if (found) return DUNNO;
  return ctx.reject(MailError.POLICY, 553, '5.7.1', `<${sender}>: Sender address rejected: not owned by user ${user}`);
}

async function unauthMismatch(ctx: CheckContext): Promise<number> {
  const maps = senderLoginMaps(ctx.settings);
  const sender = ctx.state.sender ?? '';
  if (!maps || ctx.state.saslUsername !== undefined) return DUNNO;
  if ((await owners(ctx, maps, sender)) === undefined) return DUNNO;
  return ctx.reject(MailError.POLICY, 553, '5.7.1', `<${sender}>: Sender address rejected: not logged in`);
}

function withSasl(fn: (ctx: CheckContext) => Promise<number>) {
  return async (ctx: CheckContext): Promise<number> => {
    if (!ctx.settings.cfg.bool('smtpd_sasl_auth_enable')) {
      ctx.settings.warn(`restriction \`${ctx.name}' ignored: no SASL support`);
      return DUNNO;
    }
    if (!ctx.state.sender) return DUNNO;
    return fn(ctx);
  };
}

export function registerSaslRestrictions(): void {
  const auth = withSasl((ctx) => authMismatch(ctx, false));
  const unauth = withSasl(unauthMismatch);
  registerRestriction('reject_authenticated_sender_login_mismatch', auth);
  registerRestriction('reject_unauthenticated_sender_login_mismatch', unauth);
  registerRestriction(
    'reject_known_sender_login_mismatch',
    withSasl((ctx) => (ctx.state.saslUsername !== undefined ? authMismatch(ctx, true) : unauthMismatch(ctx))),
  );
  registerRestriction('reject_sender_login_mismatch', async (ctx) => {
    const r = await auth(ctx);
    return r !== DUNNO ? r : unauth(ctx);
  });
}
