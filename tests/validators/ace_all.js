// DAISY Ace over many EPUBs in one Node process (ace-cli takes one book per run and costs a
// Chromium start each time). Usage: node ace_all.js OUTDIR BOOK.epub...; writes OUTDIR/<n>/report.json.
'use strict';
const path = require('path');
const ace = require('@daisy/ace-core');
const axeRunner = require('@daisy/ace-axe-runner-puppeteer');

async function main() {
  const [outdir, ...books] = process.argv.slice(2);
  let failed = 0;
  for (const [n, book] of books.entries()) {
    try {
      await ace(path.resolve(book), { outdir: path.join(outdir, String(n)), silent: true, jobId: '' }, axeRunner);
    } catch (err) {
      failed += 1;
      console.error(`${book}: ${err && err.message ? err.message : err}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
