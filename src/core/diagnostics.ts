/** A problem found in a definition file. Positions are 1-based, as editors show them. */
export interface Diagnostic {
  /** Absolute path of the file. Fronts make it relative to the workspace when they print it. */
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: 'error' | 'warning';
  message: string;
  /** A stable code per kind of problem, e.g. `unknown-key`, `cycle`. */
  code: string;
}

/** An error raised by a builder, pointing into the value it was given (`['daily', 'start']`). */
export class SpecError extends Error {
  /** True when the last path element is a key that is itself wrong (underline the key, not its value). */
  readonly onKey: boolean;
  constructor(
    message: string,
    readonly path: ReadonlyArray<string | number> = [],
    options: { onKey?: boolean } = {},
  ) {
    super(message);
    this.onKey = options.onKey ?? false;
    this.name = 'SpecError';
  }
}

/** A problem the user must fix before a command can do its work (unknown asset, bad key...). */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
