#!/usr/bin/env node
// man/generate.mjs: write the manual pages made from parameter tables
// (src/master/man-catalogue.ts). Run after a build: `npm run build && node man/generate.mjs`.
import { writeFileSync } from 'node:fs';
import { postconfManual, posternManual } from '../dist/src/master/man-catalogue.js';

const here = new URL('.', import.meta.url);
writeFileSync(new URL('man5/postconf.5', here), postconfManual());
writeFileSync(new URL('man5/postern.5', here), posternManual());
