/**
 * auth/verify-worker.ts: a worker thread that checks passwords with slow
 * schemes (crypt family, bcrypt, Argon2, PBKDF2) so the auth service's event
 * loop keeps serving other connections meanwhile (Dovecot runs such work in
 * auth-worker processes for blocking passdbs).
 * Messages in: {id, plain: Uint8Array, stored, user}; out: {id, ok, error?}.
 */
import { parentPort } from 'node:worker_threads';
import { verifyPassword } from './schemes/index.js';

interface Job {
  id: number;
  plain: Uint8Array;
  stored: string;
  user: string;
}

parentPort?.on('message', (job: Job) => {
  verifyPassword(Buffer.from(job.plain), job.stored, { user: job.user }).then(
    (r) => parentPort?.postMessage({ id: job.id, ok: r.ok, error: r.error }),
    (e: Error) => parentPort?.postMessage({ id: job.id, ok: false, error: `Invalid password in passdb: ${e.message}` }),
  );
});
