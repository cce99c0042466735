/**
 * test/differential/maps-sql-tcp-socketmap.test.ts: the tcp: and socketmap:
 * clients (src/maps/tcp.ts, src/maps/socketmap.ts; named with the SQL map
 * tests they were written with) against small servers this test runs on
 * 127.0.0.1, queried both by the real `postmap -q -` and by Postern. The
 * servers record each request, so the bytes on the wire are compared too
 * (%XX encoding, netstrings), not just the answers and warnings.
 *
 * Cases that make Postfix retry for seconds (a tcp: server that hangs up:
 * 10 attempts a second apart) run against Postern only, with short limits.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addMsgOutput, FatalExit, type MsgOutput, removeMsgOutput, setMsgStderr, setProgname } from '../../src/log/msg.js';
import { openMapSpec } from '../../src/maps/registry.js';
import { socketmapTuning } from '../../src/maps/socketmap.js';
import { hexQuote, hexUnquote, tcpMapTuning } from '../../src/maps/tcp.js';
import { DictError, DictFlag } from '../../src/maps/types.js';

const havePostmap = existsSync('/usr/sbin/postmap');
const dir = mkdtempSync(join(tmpdir(), 'postern-netmaps-'));
writeFileSync(join(dir, 'main.cf'), '');
after(() => rmSync(dir, { recursive: true, force: true }));

interface Out {
  stdout: string;
  stderr: string;
  status: number;
}

function runReal(spec: string, keys: string[]): Promise<Out> {
  return new Promise((resolve, reject) => {
    const p = spawn('postmap', ['-c', dir, '-q', '-', spec], { env: { PATH: '/usr/sbin:/usr/bin:/bin' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    p.on('close', (code) =>
      resolve({ stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), status: code ?? -1 }),
    );
    p.stdin.end(Buffer.from(keys.map((k) => `${k}\n`).join(''), 'latin1'));
  });
}

/** What `postmap -q -` prints, from Postern's driver. */
async function runOurs(spec: string, keys: string[]): Promise<Out & { error?: DictError }> {
  let stderr = '';
  const capture: MsgOutput = (level, text) => {
    stderr += `postmap: ${level}: ${text}\n`;
  };
  setProgname('postmap');
  setMsgStderr(false);
  addMsgOutput(capture);
  let stdout = '';
  let status = 1;
  let error: DictError | undefined;
  try {
    const table = await openMapSpec(spec, { mode: 'read', dictFlags: DictFlag.DUP_WARN | DictFlag.FOLD_FIX | DictFlag.UTF8_REQUEST });
    try {
      for (const key of keys) {
        const v = await table.lookup(key);
        if (v !== undefined) {
          if (v === '') {
            // postmap's own complaint (postmap.c), before printing the empty value.
            capture('warning', `table ${spec}: key ${key}: empty string result is not allowed`);
            capture('warning', `table ${spec} should return NO RESULT in case of NOT FOUND`);
          }
          stdout += `${key}\t${v}\n`;
          status = 0;
        }
      }
    } finally {
      await table.close();
    }
  } catch (err) {
    if (err instanceof DictError) {
      error = err;
      capture('fatal', err.kind === 'config' ? `table ${spec}: query error` : `table ${spec}: query error: %m`);
    } else if (!(err instanceof FatalExit)) throw err;
    status = 1;
    stdout = ''; // postmap's fatal exit does not flush stdout
  } finally {
    removeMsgOutput(capture);
    setMsgStderr(true);
  }
  return { stdout, stderr, status, error };
}

const normalise = (s: string) => s.replace(/(: query error: ).*$/m, '$1%m');

/** A recording server: `reply` answers each request (undefined = hang up). */
class TestServer {
  readonly requests: string[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(onData: (sock: Socket, data: string, self: TestServer) => void) {
    this.server = createServer((sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => {});
      sock.on('data', (b) => onData(sock, b.toString('latin1'), this));
    });
  }
  /** Listen on a UNIX-domain path, or on 127.0.0.1 (port 0 = any). */
  listen(where: string | number = 0): Promise<void> {
    return new Promise((resolve) => {
      if (typeof where === 'string') this.server.listen(where, resolve);
      else
        this.server.listen(where, '127.0.0.1', () => {
          this.port = (this.server.address() as { port: number }).port;
          resolve();
        });
    });
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** The tcp_table(5) server: "get %XX-key" → "200 %XX-value", "500", "400", and a few broken replies. */
const TCP_VALUES: Record<string, string> = {
  found: 'plain value',
  'with space': 'value with %, tab\tand é',
  MiXeD: 'mixed case key',
  '\xe9t\xe9': '8-bit key',
  'a@b.example': 'address',
  empty: '',
};

function tcpServer(): TestServer {
  const pending = new Map<Socket, string>();
  return new TestServer((sock, data, self) => {
    let buf = (pending.get(sock) ?? '') + data;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      self.requests.push(line);
      const key = hexUnquote(line.replace(/^get /, '')) ?? '';
      if (key === 'soft') sock.write('400 try again later\n');
      else if (key === 'malformed') sock.write('2x0 what\n');
      else if (key === 'badhex') sock.write('200 bad%zzhex\n');
      else if (key === 'status3') sock.write('300 odd status\n');
      else if (key === 'hangup') sock.destroy();
      else if (key === 'long') sock.write('200 ' + 'x'.repeat(5000) + '\n');
      else if (Object.hasOwn(TCP_VALUES, key)) sock.write(Buffer.from(`200 ${hexQuote(TCP_VALUES[key]!)}\n`, 'latin1'));
      else sock.write('500 not found\n');
    }
    pending.set(sock, buf);
  });
}

/** The socketmap_table(5) server: netstring "name key" → netstring reply. */
function sockmapServer(): TestServer {
  const pending = new Map<Socket, string>();
  return new TestServer((sock, data, self) => {
    let buf = (pending.get(sock) ?? '') + data;
    for (;;) {
      const colon = buf.indexOf(':');
      if (colon < 0) break;
      const len = Number(buf.slice(0, colon));
      if (buf.length < colon + 1 + len + 1) break;
      const req = buf.slice(colon + 1, colon + 1 + len);
      buf = buf.slice(colon + 2 + len);
      self.requests.push(req);
      const [name, ...rest] = req.split(' ');
      const key = rest.join(' ');
      const ns = (s: string) => Buffer.from(`${Buffer.byteLength(s, 'latin1')}:${s},`, 'latin1');
      if (name !== 'aliases') sock.write(ns('PERM no such map'));
      else if (key === 'temp') sock.write(ns('TEMP database busy'));
      else if (key === 'timeout') sock.write(ns('TIMEOUT  backend\tslow'));
      else if (key === 'perm') sock.write(ns('PERM broken'));
      else if (key === 'weird') sock.write(ns('WHAT is this'));
      else if (key === 'okbare') sock.write(ns('OK'));
      else if (key === 'format') sock.write('12x:bad');
      else if (key === 'hangup') sock.destroy();
      else if (key === 'huge') sock.write(`200000:${'y'.repeat(10)}`);
      else if (key === 'found' || key === 'MiXeD' || key === 'with space' || key === '\xe9t\xe9') sock.write(ns(`OK value for ${key}`));
      else if (key === 'emptyok') sock.write(ns('OK '));
      else sock.write(ns('NOTFOUND '));
    }
    pending.set(sock, buf);
  });
}

async function compare(server: TestServer, spec: string, keys: string[]): Promise<void> {
  server.requests.length = 0;
  const real = await runReal(spec, keys);
  const realRequests = [...server.requests];
  server.requests.length = 0;
  const ours = await runOurs(spec, keys);
  assertSame(spec, keys, ours, real, server.requests, realRequests);
}

function assertSame(spec: string, keys: string[], ours: Out, real: Out, ourReq: string[], realReq: string[]): void {
  const what = `${spec} ${JSON.stringify(keys)}`;
  assert.equal(ours.stdout, real.stdout, `${what}: stdout\nreal stderr: ${real.stderr}\nour stderr: ${ours.stderr}`);
  assert.equal(normalise(ours.stderr), normalise(real.stderr), `${what}: stderr`);
  assert.equal(ours.status, real.status, `${what}: status`);
  assert.deepEqual(ourReq, realReq, `${what}: requests on the wire`);
}

/**
 * Several `postmap -q -` runs at once, each against its own server (the
 * real postmap sleeps a second in msg_fatal(), so error cases are slow one
 * by one); then Postern's, one after another.
 */
async function compareEach(
  make: () => TestServer,
  spec: (srv: TestServer) => string,
  keyLists: string[][],
): Promise<void> {
  const servers = await Promise.all(
    keyLists.map(async () => {
      const srv = make();
      await srv.listen();
      return srv;
    }),
  );
  try {
    const real = await Promise.all(keyLists.map((keys, i) => runReal(spec(servers[i]!), keys)));
    const realReq = servers.map((srv) => [...srv.requests]);
    for (let i = 0; i < keyLists.length; i++) {
      servers[i]!.requests.length = 0;
      const ours = await runOurs(spec(servers[i]!), keyLists[i]!);
      assertSame(spec(servers[i]!), keyLists[i]!, ours, real[i]!, servers[i]!.requests, realReq[i]!);
    }
  } finally {
    await Promise.all(servers.map((srv) => srv.close()));
  }
}

describe('tcp: real postmap vs Postern', { skip: !havePostmap }, () => {
  it('found, not found, quoting of odd keys and values; 4xx, malformed replies, bad status codes', async () => {
    await compareEach(tcpServer, (srv) => `tcp:127.0.0.1:${srv.port}`, [
      ['found', 'with space', 'MiXeD', '\xe9t\xe9', 'a@b.example', 'empty', 'nothere', '100%', 'x\ty'],
      ['found', 'soft', 'found'],
      ['malformed'],
      ['badhex'],
      ['status3'],
    ]);
  });
});

describe('tcp: Postern only (broken servers)', () => {
  const saved = { ...tcpMapTuning };
  before(() => Object.assign(tcpMapTuning, { timeoutMs: 500, maxTries: 3, retryDelayMs: 20 }));
  after(() => Object.assign(tcpMapTuning, saved));

  it('a server that hangs up, answers too long, or is not there: retries, then DictError retry', async () => {
    const srv = tcpServer();
    await srv.listen();
    try {
      const hang = await runOurs(`tcp:127.0.0.1:${srv.port}`, ['hangup']);
      assert.equal(hang.error?.kind, 'retry');
      assert.equal(hang.stderr.match(/read TCP map reply from 127\.0\.0\.1:\d+: unexpected EOF/g)?.length, 3, hang.stderr);
      const long = await runOurs(`tcp:127.0.0.1:${srv.port}`, ['long']);
      assert.equal(long.error?.kind, 'retry');
      assert.match(long.stderr, /text longer than 4096/);
    } finally {
      await srv.close();
    }
    const refused = await runOurs('tcp:127.0.0.1:1', ['x']);
    assert.equal(refused.error?.kind, 'retry');
    assert.match(refused.stderr, /postmap: warning: connect to TCP map 127\.0\.0\.1:1: Connection refused\n/);
  });
  it('a server that never answers times out', async () => {
    const mute = new TestServer(() => {});
    await mute.listen();
    try {
      const started = Date.now();
      const r = await runOurs(`tcp:127.0.0.1:${mute.port}`, ['x']);
      assert.equal(r.error?.kind, 'retry');
      assert.ok(Date.now() - started < 5000);
      assert.match(r.stderr, /unexpected EOF \(Connection timed out\)/);
    } finally {
      await mute.close();
    }
  });
});

describe('socketmap: real postmap vs Postern', { skip: !havePostmap }, () => {
  const inet = (srv: TestServer) => `socketmap:inet:127.0.0.1:${srv.port}:aliases`;

  it('OK, NOTFOUND, bare OK, odd keys (inet and unix)', async () => {
    const keys = ['found', 'MiXeD', 'with space', '\xe9t\xe9', 'nothere', 'okbare', 'emptyok'];
    await compareEach(sockmapServer, inet, [keys]);
    const unixSrv = sockmapServer();
    await unixSrv.listen(join(dir, 'sockmap.sock'));
    try {
      await compare(unixSrv, `socketmap:unix:${join(dir, 'sockmap.sock')}:aliases`, keys);
    } finally {
      await unixSrv.close();
    }
  });
  it('TEMP, TIMEOUT, PERM and unknown replies; broken netstrings, oversized replies, a server that hangs up', async () => {
    await compareEach(sockmapServer, inet, [['found', 'temp'], ['timeout'], ['perm'], ['weird'], ['format'], ['huge'], ['hangup']]);
    await compareEach(sockmapServer, (srv) => `socketmap:inet:127.0.0.1:${srv.port}:nosuchmap`, [['x']]);
  });
  it('PERM is a configuration error, TEMP a temporary one', async () => {
    const srv = sockmapServer();
    await srv.listen();
    try {
      assert.equal((await runOurs(inet(srv), ['perm'])).error?.kind, 'config');
      assert.equal((await runOurs(inet(srv), ['temp'])).error?.kind, 'retry');
    } finally {
      await srv.close();
    }
  });
  it('nobody listening', async () => {
    const srv = sockmapServer();
    await compare(srv, 'socketmap:inet:127.0.0.1:1:aliases', ['x']);
  });
});

describe('socketmap: Postern only', () => {
  const saved = { ...socketmapTuning };
  before(() => Object.assign(socketmapTuning, { timeoutMs: 300 }));
  after(() => Object.assign(socketmapTuning, saved));
  it('a server that never answers: time limit exceeded, retry', async () => {
    const mute = new TestServer(() => {});
    await mute.listen();
    try {
      const r = await runOurs(`socketmap:inet:127.0.0.1:${mute.port}:aliases`, ['x']);
      assert.equal(r.error?.kind, 'retry');
      assert.match(r.stderr, /lookup error: time limit exceeded/);
    } finally {
      await mute.close();
    }
  });
  it('the connection is reopened after the server restarts', async () => {
    const srv = sockmapServer();
    await srv.listen();
    const port = srv.port;
    const table = await openMapSpec(`socketmap:inet:127.0.0.1:${port}:aliases`, { mode: 'read', dictFlags: 0 });
    try {
      assert.equal(await table.lookup('found'), 'value for found');
      await srv.close();
      const again = sockmapServer();
      await again.listen(port);
      try {
        assert.equal(await table.lookup('found'), 'value for found');
      } finally {
        await again.close();
      }
    } finally {
      await table.close();
    }
  });
});
