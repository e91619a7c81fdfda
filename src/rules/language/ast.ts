/**
 * The syntax tree of a rule expression. Every node carries the position of its first
 * character within the expression (graphql-js habit: errors at any stage can point at the
 * source). Binary-like nodes also carry the position of their operator.
 *
 * `Expr<X>` is the parsed tree; the checker returns `Expr<TypeInfo>`, the same shapes with
 * the static type and nullability of every node attached.
 */
import type { FeatureType } from '../../features/catalogue.ts';

/** A place in the expression text: 0-based offset, 1-based line and column (UTF-16 units). */
export interface Position {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%';
export type ComparisonOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type LogicalOp = 'and' | 'or';
export type FunctionName = 'min' | 'max' | 'abs' | 'coalesce';

/** The only callable names; anything else followed by `(` is a syntax error. */
export const FUNCTION_NAMES: readonly FunctionName[] = ['abs', 'coalesce', 'max', 'min'];

export function isFunctionName(name: string): name is FunctionName {
  return (FUNCTION_NAMES as readonly string[]).includes(name);
}

/** Literal values allowed inside `in [...]` lists (a number may carry a leading `-`). */
export type ListItem<X extends object = object> =
  | ({ readonly kind: 'number'; readonly value: number; readonly pos: Position } & X)
  | ({ readonly kind: 'string'; readonly value: string; readonly pos: Position } & X)
  | ({ readonly kind: 'boolean'; readonly value: boolean; readonly pos: Position } & X);

export type Expr<X extends object = object> =
  | ListItem<X>
  | ({ readonly kind: 'feature'; readonly name: string; readonly pos: Position } & X)
  | ({ readonly kind: 'negate'; readonly operand: Expr<X>; readonly pos: Position } & X)
  | ({ readonly kind: 'not'; readonly operand: Expr<X>; readonly pos: Position } & X)
  | ({
      readonly kind: 'arithmetic';
      readonly op: ArithmeticOp;
      readonly left: Expr<X>;
      readonly right: Expr<X>;
      readonly pos: Position;
      readonly opPos: Position;
    } & X)
  | ({
      readonly kind: 'compare';
      readonly op: ComparisonOp;
      readonly left: Expr<X>;
      readonly right: Expr<X>;
      readonly pos: Position;
      readonly opPos: Position;
    } & X)
  | ({
      readonly kind: 'logical';
      readonly op: LogicalOp;
      readonly left: Expr<X>;
      readonly right: Expr<X>;
      readonly pos: Position;
      readonly opPos: Position;
    } & X)
  | ({
      readonly kind: 'between';
      readonly value: Expr<X>;
      readonly low: Expr<X>;
      readonly high: Expr<X>;
      readonly pos: Position;
      readonly opPos: Position;
    } & X)
  | ({
      readonly kind: 'in';
      readonly negated: boolean;
      readonly value: Expr<X>;
      readonly items: readonly ListItem<X>[];
      readonly pos: Position;
      readonly opPos: Position;
    } & X)
  | ({
      readonly kind: 'missing';
      readonly negated: boolean;
      readonly value: Expr<X>;
      readonly pos: Position;
      readonly opPos: Position;
    } & X)
  | ({
      readonly kind: 'call';
      readonly fn: FunctionName;
      readonly args: readonly Expr<X>[];
      readonly pos: Position;
    } & X);

/** What the checker knows about a node: its type, and whether it can evaluate to missing. */
export interface TypeInfo {
  readonly type: FeatureType;
  readonly nullable: boolean;
}

export type CheckedExpr = Expr<TypeInfo>;
export type CheckedListItem = ListItem<TypeInfo>;

/** An error in one expression; positions are within the expression text. */
export interface ExpressionError {
  readonly message: string;
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export function expressionError(message: string, pos: Position): ExpressionError {
  return { message, offset: pos.offset, line: pos.line, column: pos.column };
}
