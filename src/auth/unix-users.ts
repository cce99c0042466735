/**
 * auth/unix-users.ts: user and group names to ids for userdb_parse_uid/gid;
 * the lookups live in util/passwd.ts.
 */
export { lookupGid, lookupUid } from '../util/passwd.js';
