import { parse as parseYaml } from "yaml";

/** One piece of a document: the heading path it sits under, and its text. */
export type DocumentChunk = { heading: string | null; text: string };

/** A document read for ingestion: its front matter (Markdown only) and its chunks. */
export type ChunkedDocument = { frontMatter: Record<string, unknown>; chunks: DocumentChunk[] };

export type DocumentKind = "markdown" | "text" | "html";

/** Which files are ingested, by extension. */
export function documentKindOf(path: string): DocumentKind | null {
  const extension = path.toLowerCase().split(".").pop() ?? "";
  if (extension === "md" || extension === "markdown") return "markdown";
  if (extension === "txt") return "text";
  if (extension === "html" || extension === "htm") return "html";
  return null;
}

/**
 * Split a document into chunks: at headings first (each chunk carries its heading path, "Returns › Exceptions"),
 * then at blank lines, paragraphs packed together up to `maxChars`; a longer paragraph is cut at sentence ends,
 * and a sentence longer than the cap at a space.
 */
export function chunkDocument(text: string, kind: DocumentKind, maxChars: number): ChunkedDocument {
  let body = text.replaceAll("\r\n", "\n");
  let frontMatter: Record<string, unknown> = {};
  if (kind === "markdown") {
    const match = /^---\n([\s\S]*?)\n---\n?/.exec(body);
    if (match) {
      const parsed: unknown = parseYaml(match[1]!);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        frontMatter = parsed as Record<string, unknown>;
      }
      body = body.slice(match[0].length);
    }
  }
  if (kind === "html") body = htmlToMarkdown(body);
  const sections = kind === "text" ? [{ heading: null, body }] : splitAtHeadings(body);
  const chunks: DocumentChunk[] = [];
  for (const section of sections) {
    for (const piece of packParagraphs(section.body, maxChars))
      chunks.push({ heading: section.heading, text: piece });
  }
  return { frontMatter, chunks };
}

function splitAtHeadings(body: string): { heading: string | null; body: string }[] {
  const sections: { heading: string | null; body: string }[] = [];
  const path: string[] = [];
  let current: { heading: string | null; lines: string[] } = { heading: null, lines: [] };
  let fenced = false;
  for (const line of body.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (!heading) {
      current.lines.push(line);
      continue;
    }
    sections.push({ heading: current.heading, body: current.lines.join("\n") });
    const level = heading[1]!.length;
    path.length = Math.min(path.length, level - 1);
    path[level - 1] = heading[2]!.trim();
    current = { heading: path.filter(Boolean).join(" › "), lines: [] };
  }
  sections.push({ heading: current.heading, body: current.lines.join("\n") });
  return sections.filter((section) => section.body.trim() !== "" || section.heading !== null);
}

function packParagraphs(body: string, maxChars: number): string[] {
  const paragraphs = body
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph !== "")
    .flatMap((paragraph) => (paragraph.length <= maxChars ? [paragraph] : cutLong(paragraph, maxChars)));
  const chunks: string[] = [];
  let current = "";
  for (const paragraph of paragraphs) {
    if (current !== "" && current.length + 2 + paragraph.length > maxChars) {
      chunks.push(current);
      current = "";
    }
    current = current === "" ? paragraph : `${current}\n\n${paragraph}`;
  }
  if (current !== "") chunks.push(current);
  return chunks;
}

function cutLong(paragraph: string, maxChars: number): string[] {
  const sentences = paragraph.match(/[^.!?]+(?:[.!?]+|$)\s*/g) ?? [paragraph];
  const pieces: string[] = [];
  let current = "";
  for (const sentence of sentences.flatMap((each) => hardCut(each, maxChars))) {
    if (current !== "" && current.length + sentence.length > maxChars) {
      pieces.push(current.trim());
      current = "";
    }
    current += sentence;
  }
  if (current.trim() !== "") pieces.push(current.trim());
  return pieces;
}

function hardCut(text: string, maxChars: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > maxChars) {
    const space = rest.lastIndexOf(" ", maxChars);
    const at = space > maxChars / 2 ? space + 1 : maxChars;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  pieces.push(rest);
  return pieces;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** HTML as Markdown-ish text: headings become `#` lines, blocks paragraphs, tags and scripts go. */
export function htmlToMarkdown(html: string): string {
  return html
    .replace(/<(script|style|noscript|template)\b[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1\s*>/gi, (_, level: string, inner: string) => {
      const text = inner
        .replace(/<[^>]*>/g, "")
        .replace(/\s+/g, " ")
        .trim();
      return `\n\n${"#".repeat(Number(level))} ${text}\n\n`;
    })
    .replace(/<li\b[^>]*>/gi, "\n- ")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/?(p|div|section|article|ul|ol|table|tr|blockquote|pre|header|footer|main)\b[^>]*>/gi, "\n\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name.startsWith("#x") || name.startsWith("#X"))
        return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
      if (name.startsWith("#")) return String.fromCodePoint(Number(name.slice(1)));
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .replace(/[ \t]+/g, " ")
    .replace(/\n[ \t]+/g, "\n");
}
