"""llama-server flags, the capability probe, and quoting for llama-swap's splitter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmctl.errors import LlmctlError
from llmctl.flags import capabilities_from_help, default_capabilities, probe
from llmctl.serving.swap_cmd import discovered_argv, join_cmd, quote_arg
from testkit.llama_swap_cmd import LlamaSwapCmdError, cmd_to_argv, posix_split, sanitize_command
from testkit.tools import llama_server_bin

NEW = {"loadMode": True, "flashAttnValue": True, "traceLog": True}
OLD = {"loadMode": False, "flashAttnValue": False, "traceLog": False}
TRACE = ["-lv", "4"]  # new builds: llama.cpp's load lines for verify

# Cases from golib's own shlex_test.go (TestPosix): the port must agree with them.
GOLIB_POSIX_CASES = [
    ("", []),
    (" foo  bar ", ["foo", "bar"]),
    ('foo"   "bar', ["foo   bar"]),
    ('foo "bar   baz', ["foo", "bar   baz"]),
    ('foo "" bar', ["foo", "", "bar"]),
    ("foo 'bar   baz'bag", ["foo", "bar   bazbag"]),
    ("foo ''", ["foo", ""]),
    ("f\\oo", ["foo"]),
    ("foo\\", ["foo"]),
    ("f\\'oo", ["f'oo"]),
    ("foo\\\nbar", ["foobar"]),
    ('foo "b\\ar"', ["foo", "b\\ar"]),
    ('foo "b\\"ar"', ["foo", 'b"ar']),
    ('foo"\\', ["foo"]),
    ('foo"\\\nbar"', ["foobar"]),
    ("foo 'b\\\"ar'", ["foo", 'b\\"ar']),
    ("foo'\\", ["foo\\"]),
    ("foo'\\\nbar'", ["foo\\\nbar"]),
]


@pytest.mark.parametrize(("line", "tokens"), GOLIB_POSIX_CASES)
def test_splitter_port_agrees_with_golib_cases(line, tokens):
    assert posix_split(line) == tokens


def test_llama_swap_drops_comment_lines_and_joins_backslash_lines():
    cmd = "llama-server \\\n  # a comment\n  --port 1 \\\n  -m 'a b'"
    assert sanitize_command(cmd) == ["llama-server", "--port", "1", "-m", "a b"]


NASTY = [
    "my model.gguf",
    'it\'s "quoted".gguf',
    "$(touch /tmp/pwned).gguf",
    "`id`.gguf",
    "a;b&&c|d>e.gguf",
    "${PORT}.gguf",
    "${env.HOME}x${MODEL_ID}.gguf",
    "modèle-日本語.gguf",
    "trailing\\",
    "#hash at start",
    "-",
    "",
]


@pytest.mark.parametrize("arg", NASTY)
def test_nasty_arguments_survive_llama_swap_unchanged(arg):
    cmd = join_cmd(["/opt/llama server/bin", "--port", "${PORT}", "-m", arg])
    assert cmd_to_argv(cmd, 5800) == ["/opt/llama server/bin", "--port", "5800", "-m", arg]


@given(st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))), max_size=5))
def test_any_arguments_without_control_characters_round_trip(args):
    assert cmd_to_argv(join_cmd(["bin", *args]), 1) == ["bin", *args]


@pytest.mark.parametrize("arg", ["a\nb.gguf", "a\rb", "tab\there", "nul\x00", "nel\x85", "ls\u2028ps\u2029"])
def test_control_characters_are_refused(arg):
    with pytest.raises(LlmctlError, match="control character"):
        quote_arg(arg)


def test_an_unquoted_macro_would_be_rejected_by_llama_swap():
    """The check in the port is real: a raw `${X}` is an unknown macro for llama-swap."""
    with pytest.raises(LlamaSwapCmdError, match="unknown macro"):
        cmd_to_argv("bin -m ${X}.gguf", 1)


@pytest.mark.parametrize(
    ("role", "settings", "caps", "expected"),
    [
        ("chat", {}, NEW, TRACE),
        ("embedding", {}, NEW, [*TRACE, "--embedding"]),
        ("rerank", {}, NEW, [*TRACE, "--reranking"]),
        ("chat", {"mmproj": "/m/mmproj.gguf"}, NEW, ["--mmproj", "/m/mmproj.gguf", *TRACE]),
        ("embedding", {"mmproj": "/m/mmproj.gguf"}, NEW, [*TRACE, "--embedding"]),
        (
            "chat",
            {"context_size": 8192, "gpu_layers": 99, "flash_attention": "on", "parallel": 2},
            NEW,
            [*TRACE, "-c", "8192", "-ngl", "99", "-np", "2", "-fa", "on"],
        ),
        ("chat", {"gpu_layers": 49, "cpu_moe_layers": 30}, NEW, [*TRACE, "-ngl", "49", "--n-cpu-moe", "30"]),
        ("chat", {"flash_attention": "on", "parallel": 2}, OLD, ["-np", "2", "-fa"]),
        ("chat", {"flash_attention": "off"}, OLD, []),
        ("chat", {"unified_memory": True}, NEW, [*TRACE, "--load-mode", "none"]),
        ("chat", {"unified_memory": True}, OLD, ["--no-mmap"]),
        ("chat", {"unified_memory": True, "no_mmap": False}, OLD, []),
        ("chat", {"no_mmap": True}, NEW, [*TRACE, "--load-mode", "none"]),
    ],
)
def test_flags_for_role_and_host(role, settings, caps, expected):
    argv = discovered_argv("bin", "/m.gguf", role, settings, caps)
    assert argv[:5] == ["bin", "-m", "/m.gguf", "--port", "${PORT}"]
    assert argv[5:] == expected


def test_extra_arguments_come_last():
    argv = discovered_argv("bin", "/m.gguf", "embedding", {"context_size": 8, "extra_args": ["--threads", 2]}, NEW)
    assert argv[5:] == [*TRACE, "-c", "8", "--embedding", "--threads", "2"]


def test_probe_reads_the_real_binary():
    found = probe(str(llama_server_bin()))
    # The llama.cpp build here has --load-mode and rejects --no-mmap.
    assert (found.capabilities, found.problem) == (NEW, None)
    assert probe(str(llama_server_bin())) is found, "--help is asked once per binary"


def test_probe_of_a_binary_that_cannot_run_here_gives_the_table_defaults(tmp_path):
    for binary in (str(tmp_path / "nix/store/abc-llama-cpp/bin/llama-server"), "/bin/false"):
        found = probe(binary)
        assert (
            found.capabilities
            == default_capabilities()
            == {"loadMode": False, "flashAttnValue": True, "traceLog": False}
        )
        assert found.problem


def test_capabilities_from_an_older_help_text():
    caps = capabilities_from_help(
        "--port N\n--mlock\n-fa, --flash-attn  enable\n--no-mmap    do not memory-map model\n"
    )
    assert caps == OLD
