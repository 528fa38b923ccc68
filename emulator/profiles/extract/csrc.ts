/**
 * Helpers for reading C source text without a C parser: the bodies of arrays and functions, the
 * top-level items of an initialiser, macro calls with balanced parentheses. Each result keeps the
 * 1-based line it came from, so every extracted fact can cite file:line.
 */
import { SourceError } from "./sysreg.ts";

export const lineOf = (text: string, index: number): number =>
  text.slice(0, index).split("\n").length;

/** Removes comments, keeping newlines so line numbers stay right. */
export function stripComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/\/\/[^\n]*/g, (m) => " ".repeat(m.length));
}

/** Index just past the bracket matching the one at `open` ('(' / '{'). */
export function matchBracket(text: string, open: number): number {
  const o = text[open];
  const c = o === "(" ? ")" : o === "{" ? "}" : "]";
  let d = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === o) d++;
    else if (text[i] === c && --d === 0) return i + 1;
  }
  throw new SourceError(`offset ${open}`, `unbalanced "${o}"`);
}

/** The `{ … }` body of the first match of `head` (a regex ending just before the brace). */
export function body(
  text: string,
  head: RegExp,
  where: string,
): { text: string; start: number } | undefined {
  const m = head.exec(text);
  if (!m) return undefined;
  const open = text.indexOf("{", m.index + m[0].length - 1);
  if (open < 0) throw new SourceError(where, `no body after ${head}`);
  const end = matchBracket(text, open);
  return { text: text.slice(open + 1, end - 1), start: open + 1 };
}

/** Splits at top-level commas (outside (), {}, []). Each part keeps its offset in `s`. */
export function splitTop(s: string): { text: string; at: number }[] {
  const out: { text: string; at: number }[] = [];
  let d = 0;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if ("({[".includes(ch)) d++;
    else if (")}]".includes(ch)) d--;
    else if (ch === "," && d === 0) {
      out.push({ text: s.slice(from, i), at: from });
      from = i + 1;
    }
  }
  out.push({ text: s.slice(from), at: from });
  return out.map((p) => {
    const lead = p.text.length - p.text.trimStart().length;
    return { text: p.text.trim(), at: p.at + lead };
  }).filter((p) => p.text !== "");
}

/** Every call `NAME(args…)` of a macro/function in `s`, with its argument texts. */
export function calls(s: string, name: RegExp): { name: string; args: string[]; at: number }[] {
  const out: { name: string; args: string[]; at: number }[] = [];
  const re = new RegExp(`\\b(${name.source})\\s*\\(`, "g");
  for (const m of s.matchAll(re)) {
    const open = m.index! + m[0].length - 1;
    const end = matchBracket(s, open);
    out.push({
      name: m[1],
      args: splitTop(s.slice(open + 1, end - 1)).map((p) => p.text),
      at: m.index!,
    });
  }
  return out;
}

export const squash = (s: string) => s.replace(/\s+/g, " ").trim();
