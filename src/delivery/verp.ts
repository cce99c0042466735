/**
 * delivery/verp.ts: verp_sender() (global/verp_sender.c): the envelope
 * sender a VERP message is delivered with, one recipient at a time
 * (sendmail -V / -XV, XVERP): prefix@origin with delimiters "+=" and
 * recipient user@domain becomes prefix+user=domain@origin. A recipient
 * without a domain adds no second delimiter; a sender without a domain
 * gets no "@".
 */
export function verpSender(delimiters: string, sender: string, rcpt: string): string {
  const sAt = sender.lastIndexOf('@');
  const rAt = rcpt.lastIndexOf('@');
  const sLocal = sAt < 0 ? sender : sender.slice(0, sAt);
  const rLocal = rAt < 0 ? rcpt : rcpt.slice(0, rAt);
  let out = `${sLocal}${delimiters[0] ?? ''}${rLocal}`;
  if (rAt >= 0 && rAt + 1 < rcpt.length) out += `${delimiters[1] ?? ''}${rcpt.slice(rAt + 1)}`;
  if (sAt >= 0 && sAt + 1 < sender.length) out += `@${sender.slice(sAt + 1)}`;
  return out;
}
