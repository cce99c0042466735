/**
 * util/strerror.ts: glibc's strerror() words for Node error codes, so "%m"
 * in Postfix and Dovecot messages reads the same from Postern.
 */
const TEXT: Readonly<Record<string, string>> = {
  EACCES: 'Permission denied',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EAGAIN: 'Resource temporarily unavailable',
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EEXIST: 'File exists',
  EIO: 'Input/output error',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
  EMFILE: 'Too many open files',
  ENAMETOOLONG: 'File name too long',
  ENOENT: 'No such file or directory',
  ENOMEM: 'Cannot allocate memory',
  ENOSPC: 'No space left on device',
  ENOTDIR: 'Not a directory',
  ENOTSOCK: 'Socket operation on non-socket',
  EPIPE: 'Broken pipe',
  EPERM: 'Operation not permitted',
  EROFS: 'Read-only file system',
  ETIMEDOUT: 'Connection timed out',
};

export function strerror(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e?.code && TEXT[e.code]) || e?.message || String(err);
}
