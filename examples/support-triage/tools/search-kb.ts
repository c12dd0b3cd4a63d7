import { z } from "zod";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";

const SearchKbInput = z.strictObject({
  query: z
    .string()
    .trim()
    .min(1)
    .max(500)
    .describe("What the customer asked, in their words or as keywords."),
  limit: z.number().int().min(1).max(10).default(3).describe("How many articles to return, best first."),
});

const SearchKbOutput = z.strictObject({
  articles: z.array(
    z.strictObject({
      slug: z.string(),
      title: z.string(),
      snippet: z.string(),
      rank: z.number(),
    }),
  ),
});

type ArticleRow = { slug: string; title: string; body: string; snippet: string; rank: number };

// Two fragments around the matched words; no highlight marks, so a snippet can be quoted as it is.
const HEADLINE_OPTIONS =
  'MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … ", StartSel="", StopSel=""';

/** The best articles for a text-search query built by `tsquery` from `$1`, at most `$2` of them. */
function selectArticles(tsquery: string): string {
  return `
    SELECT slug, title, body, ts_headline('english', body, query, '${HEADLINE_OPTIONS}') AS snippet,
           ts_rank(search, query) AS rank
    FROM shop.kb_articles, ${tsquery} AS query
    WHERE search @@ query
    ORDER BY rank DESC, slug
    LIMIT $2`;
}

/** `search_kb`: full-text search over the shop's help-centre articles (PostgreSQL `ts_rank` over `websearch_to_tsquery`). */
export function createSearchKbTool(options: { sql: SqlClient }) {
  const { sql } = options;
  return defineTool({
    name: "search_kb",
    description:
      "Search the Larkspur Home help centre (shipping, returns, refunds, payment, warranty, accounts, gift cards). " +
      "Returns the best matching articles with a snippet; an empty list means the help centre does not cover it.",
    input: SearchKbInput,
    output: SearchKbOutput,
    dataClasses: ["public"],
    recordLimitArgument: "limit",
    async execute(input, context) {
      context.signal.throwIfAborted();
      let rows = (
        await sql.query<ArticleRow>(selectArticles("websearch_to_tsquery('english', $1)"), [
          input.query,
          input.limit,
        ])
      ).rows;
      if (rows.length === 0) {
        // A question in full sentences rarely has every word in one article, so fall back to any word.
        context.signal.throwIfAborted();
        const anyWord = await anyWordQuery(sql, input.query);
        if (anyWord !== null) {
          rows = (
            await sql.query<ArticleRow>(selectArticles("to_tsquery('simple', $1)"), [anyWord, input.limit])
          ).rows;
        }
      }
      context.signal.throwIfAborted();
      return {
        articles: rows.map((row) => ({
          slug: row.slug,
          title: row.title,
          snippet: plainSnippet(row.snippet, row.body),
          rank: Number(Number(row.rank).toFixed(4)),
        })),
      };
    },
  });
}

/**
 * A headline as one line of plain text that can be quoted in an answer: markdown emphasis and list markers
 * become punctuation, and "…" marks where the excerpt cuts into a sentence.
 */
function plainSnippet(headline: string, body: string): string {
  const text = headline
    .replaceAll("**", "")
    .replace(/([^.!?:;\s])[ \t]*\n\s*\n/g, "$1.\n\n")
    .replace(/:\s*\n\s*(?:[-*]|\d+\.)\s+/g, ": ")
    .replace(/([.!?])\s*\n\s*(?:[-*]|\d+\.)\s+/g, "$1 ")
    .replace(/(,|\bor|\band)\s*\n\s*(?:[-*]|\d+\.)\s+/g, "$1 ")
    .replace(/\s*\n\s*(?:[-*]|\d+\.)\s+/g, "; ")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^(?:[-*]|\d+\.)\s+/, "");
  const start = startsASentence(headline, body) ? text : `…${text}`;
  return /[.!?)"]$/.test(start) ? start : `${start}…`;
}

/** Whether the headline's first fragment begins where a sentence, list item or paragraph of the body begins. */
function startsASentence(headline: string, body: string): boolean {
  const opening = headline.trimStart().slice(0, 40);
  const index = body.indexOf(opening);
  if (index < 0) return !/^\p{Ll}/u.test(opening);
  return /(?:^|[.!?:]|\n\s*(?:[-*]|\d+\.)?)\s*(?:\*\*)?$/.test(body.slice(0, index));
}

/** The query's English lexemes joined with OR, quoted for `to_tsquery`; null when every word is a stop word. */
async function anyWordQuery(sql: SqlClient, query: string): Promise<string | null> {
  const { rows } = await sql.query<{ lexeme: string }>(
    "SELECT unnest(tsvector_to_array(to_tsvector('english', $1))) AS lexeme",
    [query],
  );
  if (rows.length === 0) return null;
  return rows.map((row) => `'${row.lexeme.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`).join(" | ");
}
