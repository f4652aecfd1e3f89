"""Rules the suite keeps so that a fast or a busy machine gets the same answers: no test
sleeps to wait for something to happen (it waits on the event: tests/servers.Rendezvous,
Output, wait_exited, a pipe), the one exception being `servers.poll_until` for systems that
tell no hook of ours; no test listens on or joins a fixed port (`free_port()`, port 0 or
the port a server says it bound); and every test has a time limit."""

import ast
import re
import tomllib
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
POLLING_HELPER = ("servers.py", "poll_until")

# a port written into a test: `--port 8080`, `"--port", "8080"`, `port=8080`, a loopback URL's
# port, and Ray's `auto` address, which joins whichever head this machine started last
FIXED_PORT = re.compile(r"""--port["',= ]+\d|\bport\s*=\s*\d|(?:127\.0\.0\.1|localhost):\d|address["',= ]+auto\b""")


def sleeps(source: str, filename: str) -> list[str]:
    """Where `source` sleeps (`file:line`) outside the polling helper; code passed to a
    subprocess as a string counts too. A line that says `sleep-rule: <why>` sleeps for no
    event (a planted cost of known length, tests/planted_costs.py)."""
    tree = ast.parse(source)
    allowed = [range(f.lineno, f.end_lineno + 1) for f in ast.walk(tree)
               if isinstance(f, ast.FunctionDef) and (filename, f.name) == POLLING_HELPER]
    found = set()
    for node in ast.walk(tree):
        is_call = isinstance(node, ast.Call) and "sleep" in (getattr(node.func, "attr", None),
                                                            getattr(node.func, "id", None))
        in_text = isinstance(node, ast.Constant) and isinstance(node.value, str) and "sleep(" in node.value
        if (is_call or in_text) and not any(node.lineno in lines for lines in allowed) \
                and "sleep-rule:" not in source.splitlines()[node.lineno - 1]:
            found.add(f"{filename}:{node.lineno}")
    return sorted(found)


def fixed_ports(source: str, filename: str) -> list[str]:
    """Lines of `source` that write a port in; a line, or the comment line above it, that
    says `port-rule: <why>` is a port never opened (a refused URI, one where nothing listens)."""
    lines = source.splitlines()
    return [f"{filename}:{number}: {line.strip()}" for number, line in enumerate(lines, 1)
            if FIXED_PORT.search(line) and not line.lstrip().startswith("#")
            and "port-rule:" not in line and not (number > 1 and "# port-rule:" in lines[number - 2])]


def _test_sources():
    return [(path.name, path.read_text()) for path in sorted(TESTS.glob("*.py")) if path.name != Path(__file__).name]


def test_no_test_sleeps_to_wait_for_an_event():
    assert [where for name, text in _test_sources() for where in sleeps(text, name)] == []


def test_no_test_uses_a_fixed_port():
    assert [where for name, text in _test_sources() for where in fixed_ports(text, name)] == []


@pytest.mark.parametrize("planted, rule", [
    ("import time\ndef test_x():\n    time.sleep(1)\n", sleeps),
    ("from time import sleep\ndef wait():\n    while True:\n        sleep(0.5)\n", sleeps),
    ("CODE = 'import time; time.sleep(0.01)'\n", sleeps),
    ("def test_x():\n    run(['ray', 'start', '--head', '--port=6379'])\n", fixed_ports),
    ("def test_x():\n    launch('--address', 'auto')\n", fixed_ports),
    ("URL = 'http://127.0.0.1:5000'\n", fixed_ports),
    ("# port-rule: what for\nURL = 'http://127.0.0.1:5000'\nOTHER = 'localhost:8080'\n", fixed_ports),
])
def test_the_rules_find_what_they_forbid(planted, rule):
    assert rule(planted, "planted.py")


def test_the_polling_helper_alone_may_sleep():
    helper = "def poll_until(condition):\n    import time\n    time.sleep(0.5)\n"
    assert sleeps(helper, "servers.py") == [] and sleeps(helper, "other.py")
    assert sleeps("time.sleep(2)  # sleep-rule: a planted cost\n", "other.py") == []


def test_every_test_has_a_time_limit():
    config = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert 0 < float(config["timeout"]) <= 1200  # pytest-timeout: a hung test fails with its stack
