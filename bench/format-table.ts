/** Render rows as a plain-text table: the first column left-aligned, the others right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    widths
      .map((width, column) => {
        const cell = cells[column] ?? "";
        return column === 0 || column === widths.length - 1 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}

/** Milliseconds with three decimals: the step figures live around a tenth of a millisecond. */
export function ms(value: number): string {
  return value.toFixed(3);
}

/** A rate rounded to a whole number with thousands separators. */
export function rate(value: number, unit: string): string {
  return `${Math.round(value).toLocaleString("en-US")} ${unit}`;
}

/** A ratio to the baseline. */
export function times(value: number): string {
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`;
}
