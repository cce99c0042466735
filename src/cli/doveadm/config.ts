/**
 * cli/doveadm/config.ts: `doveadm config [doveconf parameters]` (doveadm.c
 * cmd_config): doveconf(1) on doveadm's own configuration file, all
 * arguments passed through untouched (CMD_FLAG_NO_OPTIONS).
 */
import { doveconfMain } from '../../../compat/dovecot/doveconf.js';
import type { DoveadmCommand } from './core/commands.js';

export const commands: Record<string, DoveadmCommand> = {
  config: {
    params: [{ name: 'args', type: 'array', positional: true }],
    flags: { noOptions: true },
    run(ctx, params) {
      return doveconfMain(['-c', ctx.configPath, ...(params.array('args') ?? [])]);
    },
  },
};
