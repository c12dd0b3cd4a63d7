import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const Account = z.strictObject({
  username: z.string(),
  name: z.string(),
  department: z.string(),
  status: z.enum(["active", "locked", "disabled"]),
  privileged: z.boolean(),
});
const Device = z.strictObject({
  assetTag: z.string(),
  model: z.string(),
  assignedTo: z.string().nullable(),
  status: z.enum(["in-use", "in-repair", "lost", "in-stock"]),
  note: z.string(),
});
const Article = z.strictObject({
  slug: z.string(),
  title: z.string(),
  keywords: z.array(z.string()),
  body: z.string(),
});
const Directory = z.strictObject({
  accounts: z.array(Account),
  devices: z.array(Device),
  articles: z.array(Article),
});
export type ItDirectory = z.infer<typeof Directory>;

/** The bundled staff directory, laptops and IT help pages (`../data/it-directory.json`). */
export function readItDirectory(): ItDirectory {
  const file = join(import.meta.dirname, "..", "data", "it-directory.json");
  return Directory.parse(JSON.parse(readFileSync(file, "utf8")));
}

/** A work account name: first.last in lowercase. */
export const Username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z]+\.[a-z]+$/, "expected a work account name such as maya.okafor");
