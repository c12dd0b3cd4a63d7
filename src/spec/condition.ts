/**
 * The small condition language shared by governance `when` entries and workflow `branch` nodes, such as
 * `input.amount > 100` or `state.invoice.total >= 50 && state.match.status == 'ok'`. Which names a path may start
 * with depends on where the condition is written: governance conditions read the tool call's `input`, workflow
 * conditions read `state`, the run's `input` and, inside a `map`, its `item`. The loader only parses a condition,
 * so a typo is reported at its file:line:column before anything runs.
 *
 * condition  := or
 * or         := and (("||" | "or") and)*
 * and        := primary (("&&" | "and") primary)*
 * primary    := "(" condition ")" | comparison
 * comparison := path op literal
 * path       := root ("." name)+
 * op         := ">" | ">=" | "<" | "<=" | "==" | "!="
 * literal    := number | 'text' | "text" | true | false
 */

/** A comparison of the value at a path with a literal; numbers compare as decimals, so "96.00" and 96 are equal. */
export type Comparison = {
  kind: "compare";
  /** The name the path starts with, such as `input` or `state`. */
  root: string;
  /** The path below the root, such as ["amount"] or ["customer", "country"]. */
  path: string[];
  op: ">" | ">=" | "<" | "<=" | "==" | "!=";
  value: number | string | boolean;
};

/** A parsed condition. */
export type Condition = Comparison | { kind: "and" | "or"; items: Condition[] };

/** The condition, or why it does not parse (with the 1-based column inside the condition text). */
export type ParsedCondition =
  | { ok: true; condition: Condition }
  | { ok: false; message: string; column: number };

type Token = {
  kind: "name" | "number" | "string" | "op" | "paren" | "dot" | "end";
  text: string;
  at: number;
};

const TOKEN_PATTERN =
  /\s*(?:(?<name>[A-Za-z_][A-Za-z0-9_]*)|(?<number>-?\d+(?:\.\d+)?)|(?<string>'[^']*'|"[^"]*")|(?<op>>=|<=|==|!=|&&|\|\||>|<)|(?<paren>[()])|(?<dot>\.))/y;

class ConditionSyntaxError extends Error {
  readonly at: number;
  constructor(message: string, at: number) {
    super(message);
    this.at = at;
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < text.length) {
    if (/^\s*$/.test(text.slice(position))) break;
    TOKEN_PATTERN.lastIndex = position;
    const match = TOKEN_PATTERN.exec(text);
    if (!match?.groups) {
      const at = position + (text.slice(position).length - text.slice(position).trimStart().length);
      throw new ConditionSyntaxError(`unexpected character "${text[at]}"`, at);
    }
    const kind = (Object.keys(match.groups) as Token["kind"][]).find(
      (key) => match.groups?.[key] !== undefined,
    );
    const value = match[0].trimStart();
    tokens.push({ kind: kind!, text: value, at: match.index + match[0].length - value.length });
    position = TOKEN_PATTERN.lastIndex;
  }
  tokens.push({ kind: "end", text: "", at: text.length });
  return tokens;
}

/** Parse a condition whose paths start with one of `roots`; never throws. */
export function parseCondition(text: string, roots: readonly [string, ...string[]]): ParsedCondition {
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (error) {
    const syntax = error as ConditionSyntaxError;
    return { ok: false, message: syntax.message, column: syntax.at + 1 };
  }
  let index = 0;
  const peek = () => tokens[index]!;
  const next = () => tokens[index++]!;
  const fail = (message: string, token: Token = peek()): never => {
    throw new ConditionSyntaxError(message, token.at);
  };
  const describe = (token: Token) => (token.kind === "end" ? "the end" : `"${token.text}"`);

  const isWord = (token: Token, word: string) => token.kind === "name" && token.text === word;
  const parseOr = (): Condition => {
    const items = [parseAnd()];
    while (peek().text === "||" || isWord(peek(), "or")) {
      next();
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0]! : { kind: "or", items };
  };
  const parseAnd = (): Condition => {
    const items = [parsePrimary()];
    while (peek().text === "&&" || isWord(peek(), "and")) {
      next();
      items.push(parsePrimary());
    }
    return items.length === 1 ? items[0]! : { kind: "and", items };
  };
  const parsePrimary = (): Condition => {
    if (peek().text === "(") {
      next();
      const inner = parseOr();
      if (peek().text !== ")") fail(`expected ")" but found ${describe(peek())}`);
      next();
      return inner;
    }
    return parseComparison();
  };
  const parseComparison = (): Comparison => {
    const start = peek();
    if (start.kind !== "name" || !roots.includes(start.text)) {
      const expected =
        roots.length === 1
          ? `a path such as ${roots[0]}.amount`
          : `a path starting with ${roots.slice(0, -1).join(", ")} or ${roots.at(-1)}`;
      fail(`expected ${expected} but found ${describe(start)}`);
    }
    next();
    const path: string[] = [];
    while (peek().kind === "dot") {
      next();
      const name = next();
      if (name.kind !== "name") fail(`expected a field name after "." but found ${describe(name)}`, name);
      path.push(name.text);
    }
    if (path.length === 0) fail(`expected "." and a field name after ${start.text}`, peek());
    const op = next();
    if (op.kind !== "op" || op.text === "&&" || op.text === "||") {
      fail(`expected one of > >= < <= == != but found ${describe(op)}`, op);
    }
    const literal = next();
    let value: number | string | boolean;
    if (literal.kind === "number") value = Number(literal.text);
    else if (literal.kind === "string") value = literal.text.slice(1, -1);
    else if (isWord(literal, "true") || isWord(literal, "false")) value = literal.text === "true";
    else return fail(`expected a number, 'text', true or false but found ${describe(literal)}`, literal);
    const comparison: Comparison = {
      kind: "compare",
      root: start.text,
      path,
      op: op.text as Comparison["op"],
      value,
    };
    if (typeof value !== "number" && !["==", "!="].includes(comparison.op)) {
      fail(`${comparison.op} compares numbers; use == or != for text and true/false`, op);
    }
    return comparison;
  };

  try {
    const condition = parseOr();
    if (peek().kind !== "end") fail(`unexpected ${describe(peek())}; join comparisons with && or ||`);
    return { ok: true, condition };
  } catch (error) {
    if (!(error instanceof ConditionSyntaxError)) throw error;
    return { ok: false, message: error.message, column: error.at + 1 };
  }
}
