"""A griffe extension for the API pages: show docstring doctests as code.

Our docstrings carry runnable ``>>>`` examples anywhere in their text (they
run as doctests), but Markdown would read ``>>>`` as nested quotes and
``[...]`` outputs as links. This wraps each doctest block (a ``>>>`` line, its
``...`` continuations and its output, up to a blank line) in a ``pycon`` fence.
"""

from __future__ import annotations

import griffe


def fence_doctests(text: str) -> str:
    """Wrap every doctest block of ``text`` that is not already in a fence."""
    out: list[str] = []
    lines = text.splitlines()
    k = 0
    in_fence = False
    while k < len(lines):
        line = lines[k]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while k < len(lines) and lines[k].strip():
                block.append(lines[k])
                k += 1
            out += [f"{indent}```pycon", *block, f"{indent}```"]
            continue
        out.append(line)
        k += 1
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
