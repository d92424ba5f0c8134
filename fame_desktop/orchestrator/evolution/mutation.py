"""Program mutations at the syntax-tree level.

Each operator rewrites one randomly chosen site of a program into an equivalent-looking (not
proven equivalent) form: loops into comprehensions or ``sum``/``join``, memoised recursion,
inlined temporaries, dropped dead code and docstrings, simpler boolean returns, set membership.
A mutant is only ever trusted after the sandbox ran the task's tests on it; many fail, and the
fitness function throws those away.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Stmts = list[ast.stmt]
Site = tuple[Stmts, int]


def normalize(code: str) -> str:
    """The code as the syntax tree prints it (comments and formatting dropped); the code if unparsable."""
    try:
        return ast.unparse(ast.parse(code))
    except (SyntaxError, ValueError):
        return code


def fingerprint(code: str) -> str:
    """A short hash of the normalised code (identical programs are evaluated once)."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()[:16]


def code_size(code: str) -> int:
    """Size of a program: its number of syntax-tree nodes (formatting and comments do not count)."""
    try:
        return sum(1 for _ in ast.walk(ast.parse(code)))
    except (SyntaxError, ValueError):
        return len(code)


def _blocks(tree: ast.AST) -> Iterator[Stmts]:
    """Every statement list in the tree (module, function, loop and branch bodies)."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _single_append(body: Stmts, var: str, method: str) -> tuple[ast.expr, ast.expr | None] | None:
    """``var.method(e)`` (optionally under one ``if``) as the whole loop body: (e, condition)."""
    cond: ast.expr | None = None
    if len(body) == 1 and isinstance(body[0], ast.If) and not body[0].orelse:
        cond, body = body[0].test, body[0].body
    if len(body) != 1 or not isinstance(body[0], ast.Expr):
        return None
    call = body[0].value
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == method
        and _name(call.func.value) == var
        and len(call.args) == 1
        and not call.keywords
    ):
        return call.args[0], cond
    return None


def _empty_init(stmt: ast.stmt) -> tuple[str, str] | None:
    """``x = []`` / ``x = set()`` / ``x = {}`` / ``x = 0`` / ``x = ''``: (name, kind)."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
        return None
    var = _name(stmt.targets[0])
    value = stmt.value
    if var is None:
        return None
    if isinstance(value, ast.List) and not value.elts:
        return var, "list"
    if isinstance(value, ast.Dict) and not value.keys:
        return var, "dict"
    if isinstance(value, ast.Call) and _name(value.func) in ("list", "set", "dict") and not value.args:
        return var, str(_name(value.func))
    if isinstance(value, ast.Constant) and value.value == 0 and type(value.value) is int:
        return var, "sum"
    if isinstance(value, ast.Constant) and value.value == "":
        return var, "join"
    return None


def _comprehension_for(block: Stmts, i: int) -> ast.stmt | None:
    """The comprehension that replaces ``block[i]`` (an empty init) and ``block[i + 1]`` (its loop)."""
    init = _empty_init(block[i])
    loop = block[i + 1] if i + 1 < len(block) else None
    if init is None or not isinstance(loop, ast.For) or loop.orelse:
        return None
    var, kind = init
    ifs: list[ast.expr] = []
    value: ast.expr
    if kind in ("list", "set"):
        found = _single_append(loop.body, var, "append" if kind == "list" else "add")
        if found is None:
            return None
        elt, cond = found
        ifs = [cond] if cond is not None else []
        gen = [ast.comprehension(target=loop.target, iter=loop.iter, ifs=ifs, is_async=0)]
        value = (
            ast.ListComp(elt=elt, generators=gen) if kind == "list" else ast.SetComp(elt=elt, generators=gen)
        )
    elif kind == "dict":
        body = loop.body
        cond = None
        if len(body) == 1 and isinstance(body[0], ast.If) and not body[0].orelse:
            cond, body = body[0].test, body[0].body
        if not (len(body) == 1 and isinstance(body[0], ast.Assign) and len(body[0].targets) == 1):
            return None
        target = body[0].targets[0]
        if not (isinstance(target, ast.Subscript) and _name(target.value) == var):
            return None
        ifs = [cond] if cond is not None else []
        gen = [ast.comprehension(target=loop.target, iter=loop.iter, ifs=ifs, is_async=0)]
        value = ast.DictComp(key=target.slice, value=body[0].value, generators=gen)
    else:
        body = loop.body
        cond = None
        if len(body) == 1 and isinstance(body[0], ast.If) and not body[0].orelse:
            cond, body = body[0].test, body[0].body
        aug = body[0] if len(body) == 1 else None
        if not (isinstance(aug, ast.AugAssign) and isinstance(aug.op, ast.Add) and _name(aug.target) == var):
            return None
        ifs = [cond] if cond is not None else []
        gen = [ast.comprehension(target=loop.target, iter=loop.iter, ifs=ifs, is_async=0)]
        if kind == "sum":
            value = ast.Call(ast.Name("sum", ast.Load()), [ast.GeneratorExp(aug.value, gen)], [])
        else:
            joiner = ast.Attribute(ast.Constant(""), "join", ast.Load())
            value = ast.Call(joiner, [ast.ListComp(aug.value, gen)], [])
    return ast.Assign(targets=[ast.Name(var, ast.Store())], value=value, lineno=0)


def loop_to_comprehension(tree: ast.Module, rng: random.Random) -> bool:
    """``r = []; for x in xs: r.append(f(x))`` → ``r = [f(x) for x in xs]`` (also sets, dicts, sum, join)."""
    sites = [(b, i) for b in _blocks(tree) for i in range(len(b) - 1) if _comprehension_for(b, i)]
    if not sites:
        return False
    block, i = rng.choice(sites)
    replacement = _comprehension_for(block, i)
    assert replacement is not None
    block[i : i + 2] = [replacement]
    return True


def _calls_itself(fn: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Call) and _name(n.func) == fn.name for n in ast.walk(fn))


def memoize_recursion(tree: ast.Module, rng: random.Random) -> bool:
    """Decorate a top-level recursive function with ``functools.cache``."""
    fns = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and not n.decorator_list and _calls_itself(n) and n.args.args
    ]
    if not fns:
        return False
    fn = rng.choice(fns)
    fn.decorator_list.append(ast.Attribute(ast.Name("functools", ast.Load()), "cache", ast.Load()))
    tree.body.insert(0, ast.Import(names=[ast.alias("functools")]))
    return True


def inline_return_temp(tree: ast.Module, rng: random.Random) -> bool:
    """``t = expr; return t`` → ``return expr``."""
    sites: list[Site] = []
    for block in _blocks(tree):
        for i in range(len(block) - 1):
            a, r = block[i], block[i + 1]
            if (
                isinstance(a, ast.Assign)
                and len(a.targets) == 1
                and _name(a.targets[0]) is not None
                and isinstance(r, ast.Return)
                and r.value is not None
                and _name(r.value) == _name(a.targets[0])
            ):
                sites.append((block, i))
    if not sites:
        return False
    block, i = rng.choice(sites)
    assign = block[i]
    assert isinstance(assign, ast.Assign)
    block[i : i + 2] = [ast.Return(value=assign.value)]
    return True


def drop_dead_code(tree: ast.Module, rng: random.Random) -> bool:
    """Remove statements after a ``return``/``raise``/``break``/``continue`` in the same block."""
    ends = (ast.Return, ast.Raise, ast.Break, ast.Continue)
    sites = [(b, i) for b in _blocks(tree) for i, s in enumerate(b[:-1]) if isinstance(s, ends)]
    if not sites:
        return False
    block, i = rng.choice(sites)
    del block[i + 1 :]
    return True


def drop_docstring(tree: ast.Module, rng: random.Random) -> bool:
    """Remove a docstring (or any bare string statement) where the block has more statements."""
    sites = [
        (b, i)
        for b in _blocks(tree)
        for i, s in enumerate(b)
        if len(b) > 1 and isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
        and isinstance(s.value.value, str)
    ]  # fmt: skip
    if not sites:
        return False
    block, i = rng.choice(sites)
    del block[i]
    return True


def _is_const(node: ast.stmt, value: bool) -> bool:
    return isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and node.value.value is value


def simplify_bool_return(tree: ast.Module, rng: random.Random) -> bool:
    """``if c: return True`` + ``return False`` (or the ``else`` form) → ``return bool(c)``."""
    sites: list[Site] = []
    for block in _blocks(tree):
        for i, s in enumerate(block):
            if not (isinstance(s, ast.If) and len(s.body) == 1 and _is_const(s.body[0], True)):
                continue
            if (len(s.orelse) == 1 and _is_const(s.orelse[0], False)) or (
                not s.orelse and i + 1 < len(block) and _is_const(block[i + 1], False)
            ):
                sites.append((block, i))
    if not sites:
        return False
    block, i = rng.choice(sites)
    node = block[i]
    assert isinstance(node, ast.If)
    test = node.test
    value: ast.expr = (
        test if isinstance(test, ast.Compare) else ast.Call(ast.Name("bool", ast.Load()), [test], [])
    )
    end = i + 1 if node.orelse else i + 2
    block[i:end] = [ast.Return(value=value)]
    return True


class _Rewrite(ast.NodeTransformer):
    """Rewrites the ``pick``-th matching expression (matches counted in walk order)."""

    def __init__(self, match: Callable[[ast.AST], ast.AST | None], pick: int) -> None:
        self.match = match
        self.pick = pick
        self.seen = 0
        self.done = False

    def generic_visit(self, node: ast.AST) -> ast.AST:
        new = self.match(node)
        if new is not None:
            hit = self.seen == self.pick
            self.seen += 1
            if hit:
                self.done = True
                return new
        return super().generic_visit(node)


def _rewrite_one(tree: ast.Module, rng: random.Random, match: Callable[[ast.AST], ast.AST | None]) -> bool:
    count = sum(1 for n in ast.walk(tree) if match(n) is not None)
    if not count:
        return False
    rewriter = _Rewrite(match, rng.randrange(count))
    rewriter.visit(tree)
    return rewriter.done


def _len_compare(node: ast.AST) -> ast.AST | None:
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    left, op, right = node.left, node.ops[0], node.comparators[0]
    if not (
        isinstance(left, ast.Call) and _name(left.func) == "len" and len(left.args) == 1
        and isinstance(right, ast.Constant) and right.value == 0
    ):  # fmt: skip
        return None
    if isinstance(op, ast.Eq):
        return ast.UnaryOp(ast.Not(), left.args[0])
    if isinstance(op, ast.NotEq | ast.Gt):
        return ast.Call(ast.Name("bool", ast.Load()), [left.args[0]], [])
    return None


def simplify_len_test(tree: ast.Module, rng: random.Random) -> bool:
    """``len(x) == 0`` → ``not x``; ``len(x) > 0`` → ``bool(x)``."""
    return _rewrite_one(tree, rng, _len_compare)


def _range_zero(node: ast.AST) -> ast.AST | None:
    if (
        isinstance(node, ast.Call) and _name(node.func) == "range" and len(node.args) == 2
        and isinstance(node.args[0], ast.Constant) and node.args[0].value == 0
    ):  # fmt: skip
        return ast.Call(node.func, [node.args[1]], [])
    return None


def simplify_range(tree: ast.Module, rng: random.Random) -> bool:
    """``range(0, n)`` → ``range(n)``."""
    return _rewrite_one(tree, rng, _range_zero)


def _set_membership(node: ast.AST) -> ast.AST | None:
    if not (
        isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn)
    ):
        return None
    seq = node.comparators[0]
    if (
        isinstance(seq, ast.List | ast.Tuple)
        and seq.elts
        and all(isinstance(e, ast.Constant) for e in seq.elts)
    ):
        return ast.Compare(node.left, node.ops, [ast.Set(elts=list(seq.elts))])
    return None


def set_membership(tree: ast.Module, rng: random.Random) -> bool:
    """``x in [1, 2, 3]`` → ``x in {1, 2, 3}`` (hash lookup instead of a scan)."""
    return _rewrite_one(tree, rng, _set_membership)


_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
}


def _flip_compare(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _FLIP:
        return ast.Compare(node.left, [_FLIP[type(node.ops[0])]()], node.comparators)
    return None


def perturb_comparison(tree: ast.Module, rng: random.Random) -> bool:
    """``<`` ↔ ``<=`` (a boundary change: mostly wrong, occasionally a valid shortcut)."""
    return _rewrite_one(tree, rng, _flip_compare)


@dataclass(frozen=True)
class Operator:
    """A named mutation and how often it is picked relative to the others."""

    name: str
    apply: Callable[[ast.Module, random.Random], bool]
    weight: float = 1.0


OPERATORS: tuple[Operator, ...] = (
    Operator("loop_to_comprehension", loop_to_comprehension, 3.0),
    Operator("memoize_recursion", memoize_recursion, 2.0),
    Operator("inline_return_temp", inline_return_temp, 2.0),
    Operator("simplify_bool_return", simplify_bool_return, 2.0),
    Operator("drop_dead_code", drop_dead_code, 1.0),
    Operator("drop_docstring", drop_docstring, 1.0),
    Operator("simplify_len_test", simplify_len_test, 1.0),
    Operator("simplify_range", simplify_range, 1.0),
    Operator("set_membership", set_membership, 1.0),
    Operator("perturb_comparison", perturb_comparison, 0.5),
)


@dataclass(frozen=True)
class Mutant:
    """A mutated program and the operators that made it."""

    code: str
    operators: tuple[str, ...]


def mutate(
    code: str, rng: random.Random, *, steps: int = 1, operators: tuple[Operator, ...] = OPERATORS
) -> Mutant | None:
    """Apply up to ``steps`` randomly chosen operators that find a site; None when none applies.

    The result always compiles; whether it still passes the tests is for the sandbox to say.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    used: list[str] = []
    for _ in range(steps):
        pool = list(operators)
        while pool:
            op = rng.choices(pool, weights=[o.weight for o in pool])[0]
            pool.remove(op)
            trial = copy.deepcopy(tree)
            if op.apply(trial, rng):
                ast.fix_missing_locations(trial)
                try:
                    compile(trial, "<mutant>", "exec")
                except (SyntaxError, ValueError):
                    continue
                tree = trial
                used.append(op.name)
                break
        else:
            break
    if not used:
        return None
    return Mutant(ast.unparse(tree) + "\n", tuple(used))
