"""mkdocs hooks: pages and pictures made from the code at build time, so they cannot go stale.

* ``<!-- remat:cli -->`` in a page becomes the help of ``remat`` and of every
  subcommand, taken from :func:`remat.cli.build_parser` (the CLI reference);
* ``<!-- remat:bench-table CSV... [layout=rows|paper|gap] [reference=CSV] [baseline=VARIANT] -->``
  becomes the table that ``remat bench report`` prints from those committed
  result files, and ``<!-- remat:bench-meta DIR -->`` one line on the run
  that wrote DIR (version, machine, load), from its ``meta.json``; paths are
  relative to the repository root (performance.md's tables);
* ``img/*.png`` are drawn by :mod:`remat.plot` from a fresh solve of the
  bundled U-Net example;
* ``$...$`` and ``$$...$$`` outside code become MathML at build time
  (latex2mathml), which browsers render natively: the site loads no script
  from elsewhere;
* nav entries whose page does not exist (yet) are dropped, so a page another
  part of the project has not written cannot break ``mkdocs build --strict``.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.remat")
CLI_MARKER = "<!-- remat:cli -->"


# ------------------------------------------------------------------ nav
def _prune(nav, docs_dir: Path):
    out = []
    for item in nav:
        if isinstance(item, dict):
            (title, target), = item.items()
            if isinstance(target, list):
                kept = _prune(target, docs_dir)
                if kept:
                    out.append({title: kept})
            elif isinstance(target, str) and "://" not in target and not (docs_dir / target).is_file():
                log.info("nav: %s (%s) not written yet, left out", title, target)
            else:
                out.append(item)
        elif isinstance(item, str) and not (docs_dir / item).is_file():
            log.info("nav: %s not written yet, left out", item)
        else:
            out.append(item)
    return out


def on_config(config, **kwargs):
    if config.nav:
        config.nav = _prune(config.nav, Path(config.docs_dir))
    return config


# ------------------------------------------------------------------ CLI reference
def cli_reference() -> str:
    """Markdown: ``remat --help`` and ``remat COMMAND --help`` for every command, at a fixed width."""
    from remat.cli import COMMANDS, build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = build_parser()
        subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parts = ["## remat", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name in COMMANDS:
            parts += [f"## remat {name}", "", "```text", subs.choices[name].format_help().rstrip(), "```", ""]
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


# ------------------------------------------------------------------ bench tables
BENCH = re.compile(r"<!-- remat:bench-(table|meta) (.*?) -->")


def bench_table(args: str, root: Path) -> str:
    """The markdown of one ``remat:bench-table`` marker (see the module docstring)."""
    from remat.bench import gap_table, markdown_table, read_csv, read_reference, rows_table

    words = args.split()
    opts = dict(w.split("=", 1) for w in words if "=" in w)
    rows = [row for w in words if "=" not in w for row in read_csv(root / w)]
    if opts.get("layout", "rows") == "paper":
        return markdown_table(rows)
    if opts.get("layout") == "gap":
        return gap_table(rows)
    reference = read_reference(root / opts["reference"]) if "reference" in opts else None
    return rows_table(rows, reference=reference, baseline=opts.get("baseline"))


def bench_meta(folder: str, root: Path) -> str:
    """One line on the run that wrote ``folder``: version, date, machine, load, duration."""
    import json

    m = json.loads((root / folder / "meta.json").read_text())
    load = lambda key: "?" if not m.get(key) else f"{m[key][0]:.1f}"  # noqa: E731 (one-minute load average)
    return (f"remat {m['remat']}, {m['date']}, {m['platform']}, {m['cpus']} CPUs, Python {m['python']}; "
            f"load average {load('load_average_before')} before the run and {load('load_average_after')} after it; "
            f"{', '.join(sorted({str(g['threads']) for g in m['grids']}))} solver threads per case, "
            f"{m['seconds']:.0f} s in all")


def bench_markers(markdown: str, root: Path) -> str:
    return BENCH.sub(lambda m: (bench_table if m.group(1) == "table" else bench_meta)(m.group(2).strip(), root),
                     markdown)


# ------------------------------------------------------------------ math
_CODE = re.compile(r"(^ *```.*?^ *```|`[^`\n]+`)", re.S | re.M)
_MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)
_STASH = "REMATMATH{}X"


def math_to_placeholders(markdown: str) -> tuple[str, list[str]]:
    """Replace TeX math outside code by placeholders; return the text and the MathML for each."""
    from latex2mathml.converter import convert

    rendered: list[str] = []

    def one(m: re.Match) -> str:
        tex, display = (m.group(1), "block") if m.group(1) is not None else (m.group(2), "inline")
        rendered.append(convert(tex.strip(), display=display))
        return _STASH.format(len(rendered) - 1)

    pieces = _CODE.split(markdown)
    for k in range(0, len(pieces), 2):  # even pieces are outside code
        pieces[k] = _MATH.sub(one, pieces[k])
    return "".join(pieces), rendered


def on_page_markdown(markdown: str, page, config, files, **kwargs):
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    markdown = bench_markers(markdown, Path(config.config_file_path).parent)
    markdown, page.meta["_remat_math"] = math_to_placeholders(markdown)
    return markdown


def on_page_content(html: str, page, config, files, **kwargs):
    for k, mathml in reversed(list(enumerate(page.meta.get("_remat_math", ())))):
        html = html.replace(_STASH.format(k), mathml)
    return html


# ------------------------------------------------------------------ pictures
def pictures() -> dict[str, bytes]:
    """The figures the pages show, drawn from a fresh solve (well under a second)."""
    import remat
    from remat.plot import plot_gantt, plot_memory, plot_pareto
    from remat.schedule import no_remat_schedule

    g = remat.generators.unet(4)
    peak = remat.no_remat_peak(g)
    result = remat.solve(g, int(0.8 * peak), time_limit=30, threads=1)
    memory = plot_memory(g, no_remat_schedule(g), result.budget, label="no remat", color="tab:gray")
    plot_memory(g, result.schedule, ax=memory.axes[0])
    fractions = [0.72, 0.8, 0.85, 0.9, 1.0]
    sweep = [remat.solve(g, int(f * peak), time_limit=10, threads=1) for f in fractions]
    pareto = plot_pareto([r.budget for r in sweep], [r.tdi for r in sweep], peak=peak,
                         optimal=[r.status.value == "optimal" for r in sweep], label=g.name)
    out = {}
    for name, fig in {"memory.png": memory, "gantt.png": plot_gantt(g, result.schedule), "pareto.png": pareto}.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        out[f"img/{name}"] = buf.getvalue()
    return out


def on_files(files, config, **kwargs):
    for path, content in pictures().items():
        files.append(File.generated(config, path, content=content))
    return files
