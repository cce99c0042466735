/**
 * postconf/templates.ts: `postconf -t [file]` (dump bounce templates) and
 * `postconf -b [file]` (their text with $name expanded). Real postconf runs
 * bounce(8) for these, hence the "postfix/bounce" prefix on messages; the
 * template logic itself is src/bounce/templates.ts.
 */
import { readFileSync } from 'node:fs';
import { fatal, setProgname } from '../../../src/log/msg.js';
import { out } from '../../../src/util/out.js';
import { strerror } from '../../../src/util/strerror.js';
import { BounceTemplates } from '../../../src/bounce/templates.js';
import { loadPostfixConfig } from '../config.js';

export interface TemplateRequest {
  configDir: string;
  file: string | undefined;
  expand: boolean;
}

export function showBounceTemplates(req: TemplateRequest): number {
  // postconf reads main.cf itself (mail_conf_read) before it runs bounce(8).
  const cfg = loadPostfixConfig({ configDir: req.configDir });
  setProgname('postfix/bounce');
  const templates = new BounceTemplates();
  if (req.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(req.file, 'latin1');
    } catch (err) {
      fatal(`open ${req.file}: ${strerror(err)}`);
    }
    templates.load(text, req.file);
  }
  out(req.expand ? templates.expandAll(cfg) : templates.dump());
  return 0;
}
