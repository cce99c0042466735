/**
 * master/test-workers.ts: two trivial workers for master tests.
 * postern-echo: "220 postern-echo PID\r\n", then echoes lines until "QUIT".
 * postern-crash: exits with status 1 before it is ready (bad command startup).
 */
import type { WorkerModule } from './types.js';

export const echoWorker: WorkerModule = {
  start(ctx) {
    ctx.onConnection((socket) => {
      socket.setEncoding('utf8');
      socket.write(`220 postern-echo ${process.pid}\r\n`);
      let buf = '';
      socket.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (line.toUpperCase() === 'QUIT') {
            socket.end('221 bye\r\n');
            return;
          }
          socket.write(`250 ${line}\r\n`);
        }
      });
      socket.on('error', () => socket.destroy());
    });
    ctx.onWakeup(() => ctx.log.info('wakeup'));
  },
};

export const crashWorker: WorkerModule = {
  start() {
    process.exit(1);
  },
};
