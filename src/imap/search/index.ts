/**
 * imap/search: SEARCH, SORT and THREAD as pure functions (no I/O).
 *
 *   const prog = compileSearch(args, { charset });   // throws SearchError (.response / .badText('SEARCH'))
 *   await evaluate(prog, msg, { messageCount, maxUid, savedUids })  -> boolean
 *        msg: SearchMessage { seq, uid, flags, internalDate, size?, modseq?, saveDate?, raw() }
 *        raw() is called only when prog.needsRaw-type keys (header/body/text/sent date/size) need it.
 *   await sortMessages(parseSortCriteria(listItems), msgs)  -> msgs in SORT order
 *   await threadMessages('REFERENCES', msgs, useUid)  -> "* THREAD ...\r\n"
 *   formatSearch(ids), formatEsearch(tag, uid, ids, parseReturnOptions(items)), compressSet(ids)
 *   baseSubject(rawSubject)  (RFC 5256 §2.1)
 */
export {
  type CompileOptions,
  type SearchNode,
  type SearchProgram,
  SearchError,
  STAR,
  compileSearch,
  parseImapDate,
  parseSeqSet,
} from './compile.js';
export { parseMessageDate } from './date.js';
export { type ReturnOptions, compressSet, formatEsearch, formatSearch, parseReturnOptions } from './esearch.js';
export { type EvaluateContext, type SearchMessage, evaluate, searchFold } from './evaluate.js';
export { type SortCriterion, type SortKey, type SortMessage, parseSortCriteria, sortMessages } from './sort.js';
export { baseSubject } from './subject.js';
export { type ThreadAlgorithm, type ThreadMessage, threadMessages } from './thread.js';
