/**
 * auth/mech/scram.ts: SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677)
 * without channel binding. The passdb's SCRAM credentials are
 * `iterations,salt,StoredKey,ServerKey` (base64 values).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthRequest } from '../request.js';
import { base64DecodeStrict } from '../protocol.js';
import { cont, fail, type MechInstance, type MechModule, type MechStep, success } from './types.js';

const NONCE_LEN = 64;

function unescapeUsername(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=') {
      if (s.slice(i + 1, i + 3) === '2C') out += ',';
      else if (s.slice(i + 1, i + 3) === '3D') out += '=';
      else return undefined;
      i += 2;
    } else out += s[i];
  }
  return out;
}

class Scram implements MechInstance {
  gs2Header = '';
  cnonce = '';
  snonce = '';
  clientFirstBare: string | undefined;
  serverFirst = '';
  storedKey: Buffer = Buffer.alloc(0);
  serverKey: Buffer = Buffer.alloc(0);

  constructor(
    readonly hash: 'sha1' | 'sha256',
    readonly scheme: string,
  ) {}

  initial(req: AuthRequest, data: Buffer | undefined): Promise<MechStep> {
    if (data === undefined) return Promise.resolve(cont(Buffer.alloc(0)));
    return this.continue(req, data);
  }

  private digestSize(): number {
    return this.hash === 'sha1' ? 20 : 32;
  }

  private parseFirst(req: AuthRequest, text: string): string | undefined {
    const p1 = text.indexOf(',');
    if (p1 < 0) return 'Invalid initial client message: Missing first \',\' in GS2 header';
    const cbind = text.slice(0, p1);
    const p2 = text.indexOf(',', p1 + 1);
    if (p2 < 0) return 'Invalid initial client message: Missing second \',\' in GS2 header';
    const authzid = text.slice(p1 + 1, p2);
    const gs2 = text.slice(0, p2 + 1);
    const bare = text.slice(p2 + 1);
    const fields = bare.split(',');
    if (bare === '' || fields.length < 2) return 'Invalid initial client message: Missing nonce field';
    let username = fields[0]!;
    const nonce = fields[1]!;
    if (cbind[0] === 'p') return 'Channel binding not supported';
    if (cbind[0] !== 'y' && cbind[0] !== 'n') return 'Invalid GS2 header';
    let login: string | undefined;
    if (authzid !== '') {
      if (!authzid.startsWith('a=')) return 'Invalid authzid field';
      login = unescapeUsername(authzid.slice(2));
      if (login === undefined) return 'authzid escaping is invalid';
    }
    if (username[0] === 'm') return 'Mandatory extension(s) not supported';
    if (!username.startsWith('n=')) return 'Invalid username field';
    const u = unescapeUsername(username.slice(2));
    if (u === undefined) return 'Username escaping is invalid';
    username = u;
    let err = req.setUsername(username);
    if (err !== undefined) return err;
    if (login !== undefined) {
      err = req.setLoginUsername(login);
      if (err !== undefined) return err;
    }
    if (!nonce.startsWith('r=')) return 'Invalid client nonce';
    this.cnonce = nonce.slice(2);
    this.gs2Header = gs2;
    this.clientFirstBare = bare;
    return undefined;
  }

  private parseCredentials(creds: Buffer): { iter: number; salt: string } | string {
    const f = creds.toString('latin1').split(',');
    if (f.length !== 4) return `Invalid ${this.scheme} passdb entry format`;
    const iter = /^[0-9]+$/.test(f[0]!) ? Number(f[0]) : Number.NaN;
    if (!(iter >= 4096 && iter <= 2147483647)) return `Invalid ${this.scheme} iteration count in passdb`;
    const sk = base64DecodeStrict(f[2]!);
    if (!sk || sk.length !== this.digestSize()) return `Invalid ${this.scheme} StoredKey in passdb`;
    const vk = base64DecodeStrict(f[3]!);
    if (!vk || vk.length !== this.digestSize()) return `Invalid ${this.scheme} ServerKey in passdb`;
    this.storedKey = sk;
    this.serverKey = vk;
    return { iter, salt: f[1]! };
  }

  async continue(req: AuthRequest, data: Buffer): Promise<MechStep> {
    const text = data.toString('latin1');
    let error: string | undefined;
    if (this.clientFirstBare === undefined) {
      error = this.parseFirst(req, text);
      if (error === undefined) {
        const r = await req.auth.lookupCredentials(req, this.scheme);
        if (r.result === 'internal_failure') return fail(true);
        if (r.result !== 'ok') return fail();
        const parsed = this.parseCredentials(r.credentials ?? Buffer.alloc(0));
        if (typeof parsed === 'string') {
          req.logInfo('mech', parsed);
          return fail();
        }
        const rnd = randomBytes(NONCE_LEN);
        let sn = '';
        for (const b of rnd) {
          const c = (b % (0x7e - 0x21)) + 0x21;
          sn += c === 0x2c ? '~' : String.fromCharCode(c);
        }
        this.snonce = sn;
        this.serverFirst = `r=${this.cnonce}${this.snonce},s=${parsed.salt},i=${parsed.iter}`;
        return cont(Buffer.from(this.serverFirst, 'latin1'));
      }
    } else {
      const fields = text.split(',');
      if (fields.length < 3) error = 'Invalid final client message';
      else if (fields[0] !== `c=${Buffer.from(this.gs2Header, 'latin1').toString('base64')}`) error = 'Invalid channel binding data';
      else if (fields[1] !== `r=${this.cnonce}${this.snonce}`) error = 'Wrong nonce';
      else {
        const last = fields[fields.length - 1]!;
        let proof: Buffer | undefined;
        if (last[0] !== 'p') error = 'Invalid ClientProof';
        else {
          proof = base64DecodeStrict(last.slice(2));
          if (!proof) error = 'Invalid base64 encoding';
          else if (proof.length !== this.digestSize()) error = 'Invalid ClientProof length';
        }
        if (error === undefined && proof) {
          // str_array_remove drops the first field equal to the proof.
          const idx = fields.indexOf(last);
          fields.splice(idx, 1);
          const withoutProof = fields.join(',');
          const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
          const clientSig = createHmac(this.hash, this.storedKey).update(authMessage, 'latin1').digest();
          const clientKey = Buffer.alloc(clientSig.length);
          for (let i = 0; i < clientKey.length; i++) clientKey[i] = proof[i]! ^ clientSig[i]!;
          const stored = createHash(this.hash).update(clientKey).digest();
          if (!timingSafeEqual(stored, this.storedKey)) {
            req.logInfo('mech', 'Password mismatch');
          } else {
            const serverSig = createHmac(this.hash, this.serverKey).update(authMessage, 'latin1').digest();
            return success(Buffer.from(`v=${serverSig.toString('base64')}`));
          }
        }
      }
    }
    if (error !== undefined) req.logInfo('mech', error);
    return fail();
  }
}

export const mechScramSha1: MechModule = {
  name: 'SCRAM-SHA-1',
  flags: ['mutual-auth'],
  allowNuls: false,
  passdbNeed: 'lookup_credentials',
  create: () => new Scram('sha1', 'SCRAM-SHA-1'),
};

export const mechScramSha256: MechModule = {
  name: 'SCRAM-SHA-256',
  flags: ['mutual-auth'],
  allowNuls: false,
  passdbNeed: 'lookup_credentials',
  create: () => new Scram('sha256', 'SCRAM-SHA-256'),
};
