/**
 * A small evaluator for the constant C expressions the kernel's tables use: masks such as
 * `~(ID_AA64MMFR0_EL1_RES0 | ID_AA64MMFR0_EL1_TGRAN4_2)`, `GENMASK(31, 0)`, shifts, enum names.
 * Names resolve through a symbol table built from the sysreg file and #defines. Everything is
 * 64-bit unsigned, as the kernel's u64 masks are. An unknown name is an error, not a guess.
 */
import { SourceError } from "./sysreg.ts";

const M64 = (1n << 64n) - 1n;

type Tok = { t: "num"; v: bigint } | { t: "id"; v: string } | { t: "op"; v: string };

function lex(s: string, where: string): Tok[] {
  const out: Tok[] = [];
  const re =
    /\s*(?:(0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)[uUlL]*|([A-Za-z_]\w*)|(<<|>>|[~|&^()+\-,*]))/y;
  let i = 0;
  while (i < s.length) {
    if (/^\s*$/.test(s.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new SourceError(where, `cannot read "${s.slice(i, i + 20)}" in "${s}"`);
    i = re.lastIndex;
    if (m[1]) {
      const n = m[1].toLowerCase().startsWith("0b") ? BigInt("0b" + m[1].slice(2)) : BigInt(m[1]);
      out.push({ t: "num", v: n });
    } else if (m[2]) out.push({ t: "id", v: m[2] });
    else out.push({ t: "op", v: m[3] });
  }
  return out;
}

const FUNCS: Record<string, (a: bigint[]) => bigint> = {
  GENMASK: ([h, l]) => ((1n << (h - l + 1n)) - 1n) << l,
  GENMASK_ULL: ([h, l]) => ((1n << (h - l + 1n)) - 1n) << l,
  BIT: ([n]) => 1n << n,
  BIT_ULL: ([n]) => 1n << n,
  UL: ([x]) => x,
  ULL: ([x]) => x,
};

/** Evaluates `expr`; `sym` resolves names (ARM64_FEATURE_MASK(X) is X's 4-bit field at X_SHIFT). */
export function evalC(expr: string, sym: (name: string) => bigint | undefined, where: string) {
  const toks = lex(expr, where);
  let p = 0;
  const peek = () => toks[p];
  const eat = (v: string) => {
    const t = toks[p];
    if (!t || t.t !== "op" || t.v !== v) {
      throw new SourceError(where, `expected "${v}" in "${expr}"`);
    }
    p++;
  };
  // C precedence, loosest first; each level's operators with what they compute (64-bit)
  const bin: Record<string, (a: bigint, b: bigint) => bigint>[] = [
    { "|": (a, b) => a | b },
    { "^": (a, b) => a ^ b },
    { "&": (a, b) => a & b },
    { "<<": (a, b) => a << b, ">>": (a, b) => a >> b },
    { "+": (a, b) => a + b, "-": (a, b) => a - b },
    { "*": (a, b) => a * b },
  ];
  const level = (n: number): bigint => {
    if (n === bin.length) return unary();
    let v = level(n + 1);
    for (;;) {
      const t = peek();
      const f = t?.t === "op" ? bin[n][t.v] : undefined;
      if (!f) return v;
      p++;
      v = f(v, level(n + 1)) & M64;
    }
  };
  const unary = (): bigint => {
    const t = toks[p++];
    if (!t) throw new SourceError(where, `expression "${expr}" ends early`);
    if (t.t === "num") return t.v;
    if (t.t === "op" && t.v === "~") return ~unary() & M64;
    if (t.t === "op" && t.v === "(") {
      const v = level(0);
      eat(")");
      return v;
    }
    if (t.t === "id") {
      const nx = peek();
      if (nx?.t === "op" && nx.v === "(") {
        p++;
        if (t.v === "ARM64_FEATURE_MASK") {
          const a = toks[p++];
          eat(")");
          if (a?.t !== "id") throw new SourceError(where, `ARM64_FEATURE_MASK needs a name`);
          const sh = sym(`${a.v}_SHIFT`);
          if (sh === undefined) throw new SourceError(where, `unknown name ${a.v}_SHIFT`);
          return 0xfn << sh;
        }
        const args: bigint[] = [];
        if (!(peek()?.t === "op" && peek()!.v === ")")) {
          args.push(level(0));
          while (peek()?.t === "op" && peek()!.v === ",") {
            p++;
            args.push(level(0));
          }
        }
        eat(")");
        const f = FUNCS[t.v];
        if (!f) throw new SourceError(where, `unknown macro ${t.v}() in "${expr}"`);
        return f(args) & M64;
      }
      const v = sym(t.v);
      if (v === undefined) throw new SourceError(where, `unknown name ${t.v} in "${expr}"`);
      return v;
    }
    throw new SourceError(where, `unexpected "${t.v}" in "${expr}"`);
  };
  const v = level(0);
  if (p !== toks.length) throw new SourceError(where, `trailing text in "${expr}"`);
  return v;
}

/** `#define NAME <constant expression>` lines of a header, evaluated where possible. */
export function defines(
  text: string,
  base: (n: string) => bigint | undefined,
): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const re = /^#define\s+([A-Za-z_]\w*)\s+([^\\\n]+?)\s*(?:\/\*.*)?$/gm;
  for (const m of text.matchAll(re)) {
    try {
      out.set(m[1], evalC(m[2], (n) => out.get(n) ?? base(n), m[1]));
    } catch {
      // not a constant (a macro with arguments, a string, an asm fragment): not needed
    }
  }
  return out;
}
