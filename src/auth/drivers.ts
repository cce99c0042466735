/**
 * auth/drivers.ts: the passdb and userdb driver interfaces (passdb.h,
 * userdb.h) and the registry that builds a driver from `driver` + `args`.
 */
import type { Auth } from './engine.js';
import type { PassdbResult, UserdbResult, AuthRequest } from './request.js';

export interface CredentialsLookup {
  result: PassdbResult;
  /** The stored password without its {SCHEME} prefix, when the passdb had one. */
  password?: string;
  scheme?: string;
}

export interface PassdbDriver {
  readonly name: string;
  /** Scheme of a stored password that has no {SCHEME} prefix. */
  defaultPassScheme: string;
  /** %-variables the auth cache keys on; undefined = never cached. */
  defaultCacheKey?: string;
  /** Called once every driver has been created (passdb_init). */
  init?(): void;
  verifyPlain(req: AuthRequest, password: string): Promise<PassdbResult>;
  lookupCredentials?(req: AuthRequest): Promise<CredentialsLookup>;
  deinit?(): void | Promise<void>;
}

export interface UserIteration {
  users: AsyncIterable<string> | Iterable<string>;
  /** Read after the iteration ends. */
  failed(): boolean;
}

export interface UserdbDriver {
  readonly name: string;
  defaultCacheKey?: string;
  init?(): void;
  lookup(req: AuthRequest): Promise<UserdbResult>;
  iterate?(req: AuthRequest): UserIteration;
  deinit?(): void | Promise<void>;
}

/** A fatal driver configuration error (the auth process refuses to start). */
export class AuthConfigError extends Error {
  override name = 'AuthConfigError';
}

export type PassdbFactory = (auth: Auth, args: string) => PassdbDriver;
export type UserdbFactory = (auth: Auth, args: string) => UserdbDriver;
