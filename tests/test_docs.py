"""The README, the guides in docs/ and the study pages in studies/ (issue 35): a README that fits on a few
screens, every `chromatic-charm` command they show still parses with the CLI (and each command's `--help`
runs), and every link to a file or a heading of the repository leads somewhere."""

import re
import shlex
import subprocess
import sys

import pytest

from conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "BENCHMARKS.md",
         REPO / "Informe Escrito" / "README.md", *sorted((REPO / "studies").rglob("README.md"))]


def fenced_commands(text: str):
    """The `chromatic-charm` commands in the fenced shell blocks of a Markdown text, as argument lists after the
    program's name: continuation lines joined, comments and environment assignments dropped, each
    command of an `&&` chain on its own; `python -m chromatic_charm` and `torchrun ... -m chromatic_charm`
    count too."""
    fence, pending = None, ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = None if fence is not None else line.strip().strip("`").strip()
            continue
        if fence not in ("bash", "sh", "shell", "console"):  # shell blocks only, not a tree or a table
            continue
        line = pending + line
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        if "chromatic-charm" not in line and "chromatic_charm" not in line:
            continue
        for part in without_comment(line).split("&&"):
            # a usage line as the guides write it (`<checkpoint>`, `[--crops 5]`, `[--a PATH | --b]`): the
            # placeholders become a word; the optional groups are dropped, their flags kept to be checked
            part = re.sub(r"<[^>]+>", "X", part)
            optional = re.findall(r"--[a-z0-9-]+", " ".join(re.findall(r"\[([^\]]+)\]", part)))
            words = shlex.split(re.sub(r"\[[^\]]+\]", "", part))
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words = words[1:]
            if words and words[0].lstrip("!").split("/")[-1] == "chromatic-charm":
                yield words[1:], optional
            elif "chromatic_charm" in words and words[words.index("chromatic_charm") - 1] == "-m":
                yield words[words.index("chromatic_charm") + 1:], optional


def without_comment(line: str) -> str:
    """A shell line without its comment: from a '#' that starts a word, outside quotes."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def parser_options(parser, command: str) -> set[str]:
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices[command]
    return {option for action in sub._actions for option in action.option_strings}


def commands():
    found = []
    for page in PAGES:
        for words, optional in fenced_commands(page.read_text()):
            found.append(pytest.param(words, optional, id=f"{page.relative_to(REPO)}: {' '.join(words)[:60]}"))
    return found


def test_the_readme_fits_on_a_few_screens_and_keeps_its_two_commands():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    assert "<!-- test-command -->" in text and ".venv/bin/chromatic-charm serve" in text
    for guide in ("data", "training", "tracking", "evaluation", "pipeline", "notebooks", "model", "serving",
                  "deployment", "layout"):
        assert f"(docs/{guide}.md)" in text, f"the README does not link docs/{guide}.md"


def test_the_pages_show_commands():
    assert len(commands()) >= 25  # the check below has something to check


@pytest.mark.parametrize("words, optional", commands())
def test_every_command_the_docs_show_parses(words, optional, capsys):
    from chromatic_charm.cli import build_parser

    parser = build_parser()
    for flag in optional:
        assert flag in parser_options(parser, words[0]), f"{flag} is not an option of `{words[0]}`"
    try:
        parser.parse_args(words)
    except SystemExit:
        pytest.fail(f"`chromatic-charm {' '.join(words)}` does not parse: {capsys.readouterr().err.strip()}")


def test_each_command_the_docs_use_has_a_working_help():
    used = sorted({words[0] for page in PAGES for words, _ in fenced_commands(page.read_text()) if words})
    assert {"prepare", "train", "evaluate", "select", "export", "colorize", "serve"} <= set(used)
    for command in used:
        run = subprocess.run([sys.executable, "-m", "chromatic_charm", command, "--help"], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0 and run.stdout.startswith("usage: chromatic-charm " + command), run.stderr


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_to_the_repository_leads_somewhere(page):
    from urllib.parse import unquote

    text, name = page.read_text(), page.relative_to(REPO)
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    for target in targets:
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = unquote(target).partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{name} links to {target}: no such file"
        if anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", file.read_text(), flags=re.M)
            assert anchor in {slug(h) for h in headings}, f"{name} links to {target}: no such heading"
