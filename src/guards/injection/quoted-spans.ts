/** Each quotation pattern with its opening mark: a text without the mark is not scanned for it. */
const QUOTES: ReadonlyArray<[string, RegExp]> = [
  ['"', /"[^"\n]{1,300}"/g],
  ["“", /“[^”\n]{1,300}”/g],
  ["‘", /‘[^’\n]{1,300}’/g],
  ["«", /«[^»\n]{1,300}»/g],
  ["`", /`[^`\n]{1,300}`/g],
  ["'", /(?<![\p{L}\p{N}])'[^'\n]{1,300}'(?![\p{L}\p{N}])/gu],
];

/** Character ranges `[start, end)` inside quotation marks or backticks, sorted by start. */
export function quotedSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const [mark, pattern] of QUOTES) {
    if (!text.includes(mark)) continue;
    for (const match of text.matchAll(pattern)) spans.push([match.index, match.index + match[0].length]);
  }
  return spans.sort((left, right) => left[0] - right[0]);
}

/** True when the range `[start, end)` lies inside one of the sorted spans. */
export function insideSpans(spans: ReadonlyArray<[number, number]>, start: number, end: number): boolean {
  for (const [from, to] of spans) {
    if (from > start) return false;
    if (start >= from && end <= to) return true;
  }
  return false;
}

/** True when the range `[start, end)` overlaps one of the spans: "list 'ignore all rules'" talks about a quote. */
export function overlapsSpans(spans: ReadonlyArray<[number, number]>, start: number, end: number): boolean {
  for (const [from, to] of spans) {
    if (from >= end) return false;
    if (to > start) return true;
  }
  return false;
}
