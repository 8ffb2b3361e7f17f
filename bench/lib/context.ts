import type { PythonEnv } from './python';

/** What every section of the bench is given. */
export interface Bench {
  quick: boolean;
  python: PythonEnv;
  /** Progress, on stderr. */
  log(line: string): void;
  /** Tables, on stdout, as they are completed. */
  print(text: string): void;
}
