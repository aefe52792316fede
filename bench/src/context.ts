/** What every scenario gets from the runner. */
export interface BenchContext {
  /** Small sizes for CI's smoke run: every scenario runs, no figure means anything. */
  quick: boolean;
  /** Measured repetitions (after the warm-up). */
  reps: number;
  log(line: string): void;
}
