// What the operations commands (`pnpm parked`, `pnpm reconcile`, `pnpm outbox`, …) share: the
// command line's handling, the text tables of their reports, and their run (print, close, exit code).

// The command line of an operations command: a bad argument prints the error and the usage and
// exits 2 (nothing opened, nothing changed); --help prints the usage and exits 0.
export function parseCommandLine<T extends { readonly help: boolean }>(usage: string, parse: () => T): T {
  let args: T;
  try {
    args = parse();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return args;
}

// An integer option's text, checked: the value, or an error naming the flag and its range.
export function integerOption(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new Error(`${flag} must be an integer from ${min} to ${max}`);
  return value;
}

// Fixed-width columns for the reports (text only; no colours, no locale).
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export interface CommandReport {
  readonly text: string;
  readonly exit_code: number;
}

// Runs a command's body on what `open` gives, prints what it returns, closes and sets the exit
// code: 0 done, 1 failed, or the code the body asks for (a partial repair, a refused run).
export async function runOperationsCommand<Context>(
  name: string,
  open: () => Promise<Context>,
  close: (context: Context) => Promise<void>,
  body: (context: Context) => Promise<CommandReport>,
): Promise<void> {
  let context: Context | undefined;
  try {
    context = await open();
    const result = await body(context);
    process.stdout.write(`${result.text}\n`);
    process.exitCode = result.exit_code;
  } catch (error) {
    process.stderr.write(`${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    if (context !== undefined) await close(context).catch(() => {});
  }
}
