"""Run the ```python blocks of docs/*.md and docs/envs/*.md (every page under docs/).

Blocks of one page run in order in one namespace; each page gets a fresh namespace.
A block whose first line is ``# doctest: skip`` is never run; one whose first line is
``# requires: cuda-sim`` runs only when ``NUMBA_ENABLE_CUDASIM=1``; one whose first line is
``# requires: <module>[, <module>...]`` (import names, e.g. ``# requires: ale_py, cv2``) runs
only when every module is importable (third-party env families).

Each block is written to a file under the temp directory, padded with blank lines so
that its line numbers are those of the Markdown page, and executed from there: tracebacks
point at the page's lines, and ``@numba.njit(cache=True)`` in a block can find a source
file to key its cache on (files are named by the block's content and pufferlib's sources, so an
unchanged block keeps its cache between runs).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import tempfile
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
SKIP_MARK = "# doctest: skip"
CUDASIM_MARK = "# requires: cuda-sim"
REQUIRES_MARK = "# requires:"
CUDASIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
BLOCK_DIR = Path(tempfile.gettempdir()) / "pufferlib-docs-blocks"

_FENCE = re.compile(r"^(`{3,})\s*(\S*)")


@dataclass
class Block:
    page: str
    line: int      # line of the first code line in the page (1-based)
    lang: str
    source: str

    @property
    def first_line(self) -> str:
        lines = self.source.strip().splitlines()
        return lines[0].strip() if lines else ""

    @property
    def skipped(self) -> bool:
        return self.first_line == SKIP_MARK

    @property
    def needs_cudasim(self) -> bool:
        return self.first_line == CUDASIM_MARK

    @property
    def required_modules(self) -> list:
        """Import names after ``# requires:`` (not ``cuda-sim``); [] for other blocks."""
        if self.needs_cudasim or not self.first_line.startswith(REQUIRES_MARK):
            return []
        return [m.strip() for m in self.first_line[len(REQUIRES_MARK):].split(",") if m.strip()]

    @property
    def runs(self) -> bool:
        """Whether this block runs in the current test run."""
        if self.skipped:
            return False
        if self.needs_cudasim:
            return CUDASIM
        return all(_importable(m) for m in self.required_modules)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def extract_blocks(text: str, page: str = "<page>") -> list[Block]:
    """Fenced code blocks of a Markdown text, in order (fences at the start of a line)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].startswith(fence):
            j += 1
        if j == len(lines):
            raise ValueError(f"{page}:{i + 1}: unterminated code fence")
        blocks.append(Block(page, start + 1, lang, "\n".join(lines[start:j]) + "\n"))
        i = j + 1
    return blocks


def page_name(path: Path) -> str:
    """``path`` relative to docs/ (``envs/snake.md``), or its file name for a page elsewhere."""
    try:
        return path.resolve().relative_to(DOCS).as_posix()
    except ValueError:
        return path.name


def python_blocks(path: Path) -> list[Block]:
    return [b for b in extract_blocks(path.read_text(), page_name(path)) if b.lang == "python"]


def _library_fingerprint() -> bytes:
    """Hash of pufferlib's sources. Numba's cache checks only a function's own file, not the
    kernels it inlines (``rand_below``...), so block files are renamed when pufferlib changes."""
    h = hashlib.sha1()
    for f in sorted((DOCS.parent / "pufferlib").rglob("*.py")):
        h.update(f.read_bytes())
    return h.digest()


_LIBRARY = _library_fingerprint()


def _block_file(block: Block) -> Path:
    """A file holding ``block`` at its page line numbers; written once per content."""
    padded = "\n" * (block.line - 1) + block.source
    digest = hashlib.sha1(_LIBRARY + padded.encode()).hexdigest()[:16]
    stem = Path(block.page).with_suffix("").as_posix().replace("-", "_").replace("/", "__")
    path = BLOCK_DIR / f"{stem}_{block.line}_{digest}.py"
    if not path.exists():
        BLOCK_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(padded)
        os.replace(tmp, path)  # atomic: concurrent runs never see a partial file
    return path


def _failing_line(exc: BaseException, file: Path):
    """The innermost traceback line that lies in ``file`` (a page line), or None."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(file):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def run_page(path: Path) -> int:
    """Run the page's python blocks in one fresh namespace; return how many ran.

    The namespace is a module registered in ``sys.modules`` while the page runs, as a
    notebook's ``__main__`` is: Numba's cache looks functions' modules up by name.
    """
    name = "docs_" + Path(page_name(path)).with_suffix("").as_posix().replace("-", "_").replace("/", "__")
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    ran = 0
    try:
        for block in python_blocks(path):
            if not block.runs:
                continue
            file = _block_file(block)
            code = compile(file.read_text(), str(file), "exec")
            try:
                if block.needs_cudasim:
                    # The simulator runs kernels as Python on NumPy scalars; the RNG's
                    # intended uint64 wrap-around then warns.
                    with warnings.catch_warnings(), np.errstate(over="ignore"):
                        warnings.simplefilter("ignore", RuntimeWarning)
                        exec(code, module.__dict__)
                else:
                    exec(code, module.__dict__)
            except Exception as exc:
                where = _failing_line(exc, file) or block.line
                raise AssertionError(
                    f"docs/{page_name(path)}: the block at line {block.line} failed at line {where} "
                    f"({type(exc).__name__}: {exc}); traceback line numbers are page lines") from exc
            ran += 1
    finally:
        sys.modules.pop(name, None)
    return ran


# ---- the docs ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", [p for p in PAGES if python_blocks(p)], ids=page_name)
def test_page_examples_run(path):
    assert run_page(path) >= 1


EXPECTED_PAGES = ["index.md", "getting-started.md", "pufferenv-api.md", "write-your-own-numba-env.md",
                  "envs/squared.md", "envs/snake.md"]
ENV_PAGES = sorted((DOCS / "envs").glob("*.md"))


def test_expected_pages_exist():
    names = {page_name(p) for p in PAGES}
    assert set(EXPECTED_PAGES) <= names
    assert "envs/index.md" in names


@pytest.mark.parametrize("name", EXPECTED_PAGES[1:])
def test_pages_have_checked_examples(name):
    """Every page but the index has runnable examples, and every runnable block asserts."""
    blocks = python_blocks(DOCS / name)
    runnable = [b for b in blocks if not b.skipped and not b.needs_cudasim]
    assert runnable, f"{name} has no runnable python block"
    for b in blocks:
        if not b.skipped:
            assert re.search(r"^\s*assert\b", b.source, re.M), \
                f"docs/{name} line {b.line}: a python block without an assert checks nothing"


def test_env_index_links_every_env_page():
    text = (DOCS / "envs" / "index.md").read_text()
    for page in ENV_PAGES:
        if page.name != "index.md":
            assert f"]({page.name})" in text, f"envs/index.md does not link {page.name}"


def test_gpu_section_has_a_cudasim_block():
    blocks = python_blocks(DOCS / "write-your-own-numba-env.md")
    assert any(b.needs_cudasim for b in blocks)


def test_relative_links_resolve():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if "://" in target or target.startswith("#"):
                continue
            file = target.split("#", 1)[0]
            assert (page.parent / file).exists(), f"docs/{page_name(page)} links to missing {target}"


def test_index_links_every_page():
    text = (DOCS / "index.md").read_text()
    for name in EXPECTED_PAGES[1:] + ["envs/index.md"]:
        assert f"]({name})" in text, f"index.md does not link {name}"


# ---- the harness itself -------------------------------------------------------------------
SAMPLE = """\
Intro.

```python
x = 1
assert x == 1
```

```bash
echo not python
```

```python
# doctest: skip
raise RuntimeError("never runs")
```

````python
# requires: cuda-sim
y = 2
````

```Python
x += 1
```
"""


def test_extract_blocks_finds_languages_lines_and_markers():
    blocks = extract_blocks(SAMPLE)
    assert [b.lang for b in blocks] == ["python", "bash", "python", "python", "python"]
    assert blocks[0].line == 4 and blocks[0].source == "x = 1\nassert x == 1\n"
    assert blocks[2].skipped and not blocks[2].runs
    assert blocks[3].needs_cudasim and blocks[3].runs == CUDASIM
    assert blocks[3].source.endswith("y = 2\n")
    assert not blocks[4].skipped and blocks[4].runs


def test_requires_marker_runs_blocks_only_when_modules_are_importable():
    text = ("```python\n# requires: numpy\nassert True\n```\n"
            "```python\n# requires: numpy, no_such_module_xyz\nraise RuntimeError\n```\n")
    present, absent = extract_blocks(text)
    assert present.required_modules == ["numpy"] and present.runs
    assert absent.required_modules == ["numpy", "no_such_module_xyz"] and not absent.runs
    cudasim = extract_blocks("```python\n# requires: cuda-sim\nx = 1\n```\n")[0]
    assert cudasim.required_modules == [] and cudasim.runs == CUDASIM


def test_extract_blocks_rejects_unterminated_fence():
    with pytest.raises(ValueError, match="unterminated"):
        extract_blocks("```python\nx = 1\n")


def test_run_page_shares_namespace_and_reports_page_lines(tmp_path):
    page = tmp_path / "sample.md"
    page.write_text(SAMPLE)
    assert run_page(page) == (3 if CUDASIM else 2)

    bad = tmp_path / "bad.md"
    bad.write_text("text\n\n```python\nx = 1\nassert x == 2, 'boom'\n```\n")
    with pytest.raises(AssertionError, match=r"bad\.md: the block at line 4 failed at line 5 .*boom"):
        run_page(bad)


def test_pages_run_in_fresh_namespaces(tmp_path):
    first = tmp_path / "a.md"
    first.write_text("```python\nshared = 1\nassert shared\n```\n")
    second = tmp_path / "b.md"
    second.write_text("```python\nassert 'shared' not in globals()\n```\n")
    assert run_page(first) == 1
    assert run_page(second) == 1


def test_pages_in_subfolders_are_collected_and_named_by_their_path(tmp_path):
    assert DOCS / "envs" / "snake.md" in PAGES
    assert page_name(DOCS / "envs" / "snake.md") == "envs/snake.md"
    assert python_blocks(DOCS / "envs" / "snake.md")[0].page == "envs/snake.md"
    assert page_name(tmp_path / "elsewhere.md") == "elsewhere.md"
