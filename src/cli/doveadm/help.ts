/**
 * cli/doveadm/help.ts: `doveadm help [<cmd>]` (doveadm.c cmd_help): without
 * an argument the command list (exit 64); with one, the man page
 * doveadm-<cmd>, by running man(1) in our place.
 */
import { spawnSync } from 'node:child_process';
import type { DoveadmCommand } from './core/commands.js';
import { usagePrefix } from './core/usage.js';

export const commands: Record<string, DoveadmCommand> = {
  help: {
    params: [{ name: 'cmd', type: 'str', positional: true }],
    run(ctx, params) {
      const cmd = params.str('cmd');
      if (cmd === undefined) usagePrefix(ctx.commands, '');
      const r = spawnSync('man', [`doveadm-${cmd}`], { stdio: 'inherit', env: { ...process.env, MANPATH: '/usr/share/man' } });
      return r.status ?? 1;
    },
  },
};
