// Ends the run with one plain line that any CI reader understands: "tests: N passed, N failed, N skipped".
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests
    const failedSuites = results.numRuntimeErrorTestSuites
    const line = `tests: ${results.numPassedTests} passed, ${results.numFailedTests + failedSuites} failed, ${skipped} skipped\n`
    // scripts/test.sh prints the file last, so the count is the closing line of the whole run.
    if (process.env.TOCSIN_TEST_SUMMARY_FILE) require('node:fs').writeFileSync(process.env.TOCSIN_TEST_SUMMARY_FILE, line)
    else process.stdout.write(`\n${line}`)
  }
}
module.exports = SummaryReporter
