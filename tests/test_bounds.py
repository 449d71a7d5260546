"""Size bounds on the package: no module over 350 lines, no function over 60, no block above complexity 15."""

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_visit

PACKAGE = Path(__file__).parents[1] / "mcp_bigcommerce_segments"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60
MAX_COMPLEXITY = 15


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_within_bounds(path: Path) -> None:
    """A module stays readable in one sitting: its lines, each function's lines and each block's complexity."""
    source = path.read_text()
    long_functions = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    complex_blocks = [
        f"{block.name} (CC {block.complexity})" for block in cc_visit(source) if block.complexity > MAX_COMPLEXITY
    ]

    assert len(source.splitlines()) <= MAX_MODULE_LINES
    assert long_functions == []
    assert complex_blocks == []
