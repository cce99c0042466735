/**
 * postconf/print.ts: pcf_print_line(): print "name = value" with runs of
 * whitespace normalised to one space, folded at 80 columns with -f
 * (continuation lines indented by four spaces).
 */
import { out } from '../../../src/util/out.js';

/** PCF_LINE_LIMIT, PCF_INDENT_TEXT, PCF_INDENT_LEN (postconf.h). */
export const LINE_LIMIT = 80;
export const INDENT = '    ';
export const INDENT_LEN = INDENT.length;

export function formatLine(text: string, fold: boolean): string {
  const words = text.split(/[ \t\r\n]+/).filter((w) => w.length > 0);
  let result = '';
  let lineLen = 0;
  for (const word of words) {
    if (lineLen > 0) {
      if (!fold || lineLen + word.length < LINE_LIMIT) {
        result += ' ';
        lineLen += 1;
      } else {
        result += '\n' + INDENT;
        lineLen = INDENT.length;
      }
    }
    result += word;
    lineLen += word.length;
  }
  return result + '\n';
}

export function printLine(text: string, fold: boolean): void {
  out(formatLine(text, fold));
}
