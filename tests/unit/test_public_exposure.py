"""What the public can reach and send: where the API listens, upload limits, shown text."""

from __future__ import annotations

import html
import re
import tomllib
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from core.config import Settings
from core.text import escape_markdown
from jobs.run import api_command, streamlit_command
from jobs.serve_api import build_parser

REPO = Path(__file__).resolve().parents[2]
HOSTILE_NAME = "**bold** <img src=x onerror=alert(1)> [link](http://x)"


def shown_text(markdown: str) -> tuple[str, str]:
    """(HTML, visible text) of markdown as a CommonMark renderer with GFM extras shows it."""
    rendered = MarkdownIt("commonmark").enable(["strikethrough", "table"]).render(markdown)
    return rendered, html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


@pytest.mark.parametrize(
    "text",
    [
        HOSTILE_NAME,
        "_blue_ cat `code` $x^2$ ~~gone~~ &lt; \\* ![img](x.png) <http://x>",
        "# Heading",
        "- a list",
        "1. a list",
        "> quoted",
        "MAX_UPLOAD_MB=2000 is not allowed",
    ],
)
def test_escaped_text_shows_literally(text: str) -> None:
    rendered, visible = shown_text(escape_markdown(text))

    assert visible == text
    for tag in ("<strong", "<em", "<a ", "<img", "<code", "<h1", "<ul", "<ol", "<blockquote"):
        assert tag not in rendered


def test_escaping_leaves_plain_sentences_as_they_are() -> None:
    sentence = "LABEL_SCHEMA='horses' is not known; use one of: cat_phenotype, dog_breed."
    assert escape_markdown(sentence) == sentence
    assert escape_markdown("two\nlines") == "two lines"


def test_the_api_listens_on_this_machine_only_unless_api_host_says_otherwise() -> None:
    default = Settings.from_env({})
    exposed = Settings.from_env({"API_HOST": "0.0.0.0"})

    assert default.api_host == "127.0.0.1"
    assert build_parser(default).parse_args([]).host == "127.0.0.1"
    assert api_command(default)[-4:-2] == ["--host", "127.0.0.1"]
    assert build_parser(exposed).parse_args([]).host == "0.0.0.0"
    assert api_command(exposed)[-4:-2] == ["--host", "0.0.0.0"]


def test_the_streamlit_servers_refuse_uploads_over_max_upload_mb() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    command = streamlit_command("breeder_app.py", 8501, 7)

    # a plain `streamlit run` gets the default limit, `make run` the configured one
    assert config["server"]["maxUploadSize"] == Settings().max_upload_mb
    assert command[command.index("--server.maxUploadSize") + 1] == "7"
