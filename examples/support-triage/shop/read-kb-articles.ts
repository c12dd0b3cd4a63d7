import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";

/** One help-centre article as stored in `shop.kb_articles`. */
export type KbArticle = { slug: string; title: string; body: string };

/** Read every `*.md` file of a folder as an article: the file name is the slug, the `# ` first line the title. */
export async function readKbArticles(directory: string): Promise<KbArticle[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith(".md")).sort();
  return await Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(directory, file), "utf8");
      const [firstLine = "", ...rest] = text.split("\n");
      const title = /^#\s+(.+)$/.exec(firstLine.trim())?.[1];
      if (!title) throw new Error(`${join(directory, file)}:1: an article must start with a "# Title" line`);
      return { slug: basename(file, ".md"), title: title.trim(), body: rest.join("\n").trim() };
    }),
  );
}
