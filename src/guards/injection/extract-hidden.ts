const TAG_CHARACTERS = /[\u{E0000}-\u{E007F}]+/gu;
const HTML_COMMENT = /<!--([\s\S]*?)-->/g;
const MARKDOWN_COMMENT = /^\s*\[(?:\/\/|comment)\]:\s*(?:#|<>)\s*\(([^\n]*)\)\s*$/gm;
const HIDDEN_ELEMENT =
  /<([a-zA-Z][\w-]*)\b[^>]*?(?:\bhidden\b|aria-hidden\s*=\s*["']?true|display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])|color\s*:\s*(?:white|#fff(?:fff)?\b|transparent))[^>]*>([\s\S]*?)<\/\1\s*>/gi;
const TAG = /<\/?[a-zA-Z][^<>]{0,400}>/g;

/** Text a reader of the rendered page does not see, and the text with its markup removed. */
export type ExtractedHidden = { text: string; hidden: string[] };

/**
 * Pull out the parts of a document a person would not see but a model reads: Unicode tag characters (invisible
 * ASCII), HTML and Markdown comments, and elements hidden by attribute or style. The returned text keeps their
 * content (a model reads it) but loses the markup; `hidden` lists each hidden part so findings in it weigh more.
 */
export function extractHidden(input: string): ExtractedHidden {
  const hidden: string[] = [];
  let text = input;
  if (/[\u{E0000}-\u{E007F}]/u.test(text)) {
    text = text.replace(TAG_CHARACTERS, (run) => {
      const ascii = [...run]
        .map((char) => char.codePointAt(0)! - 0xe0000)
        .filter((code) => code >= 0x20 && code < 0x7f)
        .map((code) => String.fromCharCode(code))
        .join("");
      if (ascii.trim()) hidden.push(ascii);
      return ascii;
    });
  }
  if (!text.includes("<") && !text.includes("[")) return { text, hidden };
  text = text.replace(HTML_COMMENT, (_, body: string) => {
    if (body.trim()) hidden.push(body);
    return ` ${body} `;
  });
  text = text.replace(MARKDOWN_COMMENT, (_, body: string) => {
    if (body.trim()) hidden.push(body);
    return ` ${body} `;
  });
  text = text.replace(HIDDEN_ELEMENT, (_, _tag: string, body: string) => {
    if (body.trim()) hidden.push(body.replace(TAG, " "));
    return ` ${body} `;
  });
  return { text, hidden };
}
