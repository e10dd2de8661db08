// What the operations commands (`pnpm parked`, `pnpm reconcile`, `pnpm outbox`, …) share: the
// command line's handling and the text tables of their reports.

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
