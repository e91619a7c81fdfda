/**
 * Recursive-descent parser of rule expressions (grammar in docs/rule-language.md):
 *
 *   expr    := or
 *   or      := and ('or' and)*
 *   and     := not ('and' not)*
 *   not     := 'not' not | cmp
 *   cmp     := sum ( ('=='|'!='|'<'|'<='|'>'|'>=') sum
 *                  | 'between' sum 'and' sum
 *                  | 'not'? 'in' '[' literal (',' literal)* ']'
 *                  | 'is' 'not'? 'missing' )?
 *   sum     := prod (('+'|'-') prod)*
 *   prod    := unary (('*'|'/'|'%') unary)*
 *   unary   := '-' unary | primary
 *   primary := number | string | 'true' | 'false' | identifier
 *            | fn '(' expr (',' expr)* ')' | '(' expr ')'
 *
 * The first syntax error ends the parse (the checker, which runs on a complete tree, is the
 * stage that collects many errors). Length, nesting and list limits are checked here so that
 * no later stage can recurse or allocate without bound.
 */
import {
  FUNCTION_NAMES,
  expressionError,
  isFunctionName,
  type ArithmeticOp,
  type ComparisonOp,
  type Expr,
  type ExpressionError,
  type ListItem,
  type Position,
} from './ast.ts';
import { tokenize, type Token } from './lexer.ts';
import { MAX_EXPRESSION_LENGTH, MAX_LIST_ITEMS, MAX_NESTING_DEPTH } from './limits.ts';

export type ParseResult =
  | { readonly ok: true; readonly expr: Expr }
  | { readonly ok: false; readonly errors: readonly ExpressionError[] };

/** Names with a meaning in the grammar; none of them can be a feature. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'and', 'or', 'not', 'in', 'is', 'missing', 'between', 'true', 'false',
]);

const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=']);

class SyntaxError_ extends Error {
  constructor(
    readonly detail: string,
    readonly at: Position,
  ) {
    super(detail);
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of expression';
  if (t.kind === 'string') return t.text;
  return `'${t.text}'`;
}

export function parseExpression(source: string): ParseResult {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    const start: Position = { offset: 0, line: 1, column: 1 };
    return {
      ok: false,
      errors: [
        expressionError(
          `expression is ${source.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`,
          start,
        ),
      ],
    };
  }
  const lexed = tokenize(source);
  if (!lexed.ok) return { ok: false, errors: [lexed.error] };
  try {
    return { ok: true, expr: new Parser(lexed.tokens).parseAll() };
  } catch (e) {
    if (e instanceof SyntaxError_) return { ok: false, errors: [expressionError(e.detail, e.at)] };
    throw e;
  }
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseAll(): Expr {
    const e = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') this.fail(`unexpected ${describe(t)} after a complete expression`, t);
    return e;
  }

  // --- token helpers

  private peek(ahead = 0): Token {
    // the token list always ends with eof, and we never advance past it
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private isName(text: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'name' && t.text === text;
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  private expectPunct(text: string, context: string): Token {
    const t = this.peek();
    if (t.kind !== 'punct' || t.text !== text) this.fail(`expected '${text}' ${context}, found ${describe(t)}`, t);
    return this.next();
  }

  private fail(message: string, at: Token): never {
    throw new SyntaxError_(message, at.pos);
  }

  /** Called on entering a nested construct; the limit turns deep input into an error. */
  private enter(at: Token): void {
    this.depth++;
    if (this.depth > MAX_NESTING_DEPTH) {
      this.fail(`expression nests deeper than ${MAX_NESTING_DEPTH} levels`, at);
    }
  }

  private leave(): void {
    this.depth--;
  }

  // --- grammar

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isName('or')) {
      const op = this.next();
      const right = this.parseAnd();
      left = { kind: 'logical', op: 'or', left, right, pos: left.pos, opPos: op.pos };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isName('and')) {
      const op = this.next();
      const right = this.parseNot();
      left = { kind: 'logical', op: 'and', left, right, pos: left.pos, opPos: op.pos };
    }
    return left;
  }

  private parseNot(): Expr {
    if (!this.isName('not')) return this.parseCmp();
    const op = this.next();
    this.enter(op);
    const operand = this.parseNot();
    this.leave();
    return { kind: 'not', operand, pos: op.pos };
  }

  private parseCmp(): Expr {
    const left = this.parseSum();
    const t = this.peek();
    let result: Expr;
    if (t.kind === 'punct' && COMPARISONS.has(t.text)) {
      this.next();
      const right = this.parseSum();
      result = { kind: 'compare', op: t.text as ComparisonOp, left, right, pos: left.pos, opPos: t.pos };
    } else if (this.isName('between')) {
      this.next();
      const low = this.parseSum();
      if (!this.isName('and')) {
        this.fail(`expected 'and' between the bounds of 'between', found ${describe(this.peek())}`, this.peek());
      }
      this.next();
      const high = this.parseSum();
      result = { kind: 'between', value: left, low, high, pos: left.pos, opPos: t.pos };
    } else if (this.isName('in') || (this.isName('not') && this.isName('in', 1))) {
      const negated = this.isName('not');
      if (negated) this.next();
      this.next();
      const items = this.parseList();
      result = { kind: 'in', negated, value: left, items, pos: left.pos, opPos: t.pos };
    } else if (this.isName('not')) {
      this.next();
      return this.fail(`expected 'in' after 'not', found ${describe(this.peek())}`, this.peek());
    } else if (this.isName('is')) {
      this.next();
      const negated = this.isName('not');
      if (negated) this.next();
      if (!this.isName('missing')) {
        this.fail(`expected 'missing' after '${negated ? 'is not' : 'is'}', found ${describe(this.peek())}`, this.peek());
      }
      this.next();
      result = { kind: 'missing', negated, value: left, pos: left.pos, opPos: t.pos };
    } else {
      return left;
    }
    const after = this.peek();
    if (
      (after.kind === 'punct' && COMPARISONS.has(after.text)) ||
      (after.kind === 'name' && (after.text === 'between' || after.text === 'in' || after.text === 'is'))
    ) {
      this.fail(`comparisons cannot be chained; join them with 'and'`, after);
    }
    return result;
  }

  private parseList(): ListItem[] {
    this.expectPunct('[', "to start the list after 'in'");
    const items: ListItem[] = [];
    for (;;) {
      if (items.length === MAX_LIST_ITEMS) {
        this.fail(`list has more than ${MAX_LIST_ITEMS} items`, this.peek());
      }
      items.push(this.parseListItem());
      if (this.isPunct(']')) break;
      if (!this.isPunct(',')) this.fail(`expected ',' or ']' in the list, found ${describe(this.peek())}`, this.peek());
      this.next();
    }
    this.next();
    return items;
  }

  private parseListItem(): ListItem {
    const t = this.next();
    if (t.kind === 'number') return { kind: 'number', value: t.value, pos: t.pos };
    if (t.kind === 'string') return { kind: 'string', value: t.value, pos: t.pos };
    if (t.kind === 'name' && (t.text === 'true' || t.text === 'false')) {
      return { kind: 'boolean', value: t.text === 'true', pos: t.pos };
    }
    if (t.kind === 'punct' && t.text === '-' && this.peek().kind === 'number') {
      const n = this.next() as Extract<Token, { kind: 'number' }>;
      return { kind: 'number', value: -n.value, pos: t.pos };
    }
    return this.fail(`expected a literal (number, string, true or false) in the list, found ${describe(t)}`, t);
  }

  private parseSum(): Expr {
    let left = this.parseProd();
    while (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next();
      const right = this.parseProd();
      left = { kind: 'arithmetic', op: op.text as ArithmeticOp, left, right, pos: left.pos, opPos: op.pos };
    }
    return left;
  }

  private parseProd(): Expr {
    let left = this.parseUnary();
    while (this.isPunct('*') || this.isPunct('/') || this.isPunct('%')) {
      const op = this.next();
      const right = this.parseUnary();
      left = { kind: 'arithmetic', op: op.text as ArithmeticOp, left, right, pos: left.pos, opPos: op.pos };
    }
    return left;
  }

  private parseUnary(): Expr {
    if (!this.isPunct('-')) return this.parsePrimary();
    const op = this.next();
    this.enter(op);
    const operand = this.parseUnary();
    this.leave();
    return { kind: 'negate', operand, pos: op.pos };
  }

  private parsePrimary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { kind: 'number', value: t.value, pos: t.pos };
      case 'string':
        return { kind: 'string', value: t.value, pos: t.pos };
      case 'name':
        return this.parseName(t);
      case 'punct':
        if (t.text === '(') {
          this.enter(t);
          const e = this.parseOr();
          this.expectPunct(')', `to close the '(' at line ${t.pos.line}, column ${t.pos.column}`);
          this.leave();
          return e;
        }
        break;
      case 'eof':
        break;
    }
    return this.fail(`expected an expression, found ${describe(t)}`, t);
  }

  private parseName(t: Extract<Token, { kind: 'name' }>): Expr {
    if (t.text === 'true' || t.text === 'false') return { kind: 'boolean', value: t.text === 'true', pos: t.pos };
    if (KEYWORDS.has(t.text)) this.fail(`expected an expression, found '${t.text}'`, t);
    if (!this.isPunct('(')) return { kind: 'feature', name: t.text, pos: t.pos };
    const fn = t.text;
    if (!isFunctionName(fn)) {
      return this.fail(`'${fn}' is not a function; the functions are ${FUNCTION_NAMES.join(', ')}`, t);
    }
    const open = this.next();
    this.enter(open);
    const args: Expr[] = [this.parseOr()];
    while (this.isPunct(',')) {
      this.next();
      args.push(this.parseOr());
    }
    this.expectPunct(')', `to close the arguments of ${fn}`);
    this.leave();
    return { kind: 'call', fn, args, pos: t.pos };
  }
}
