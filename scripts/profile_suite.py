#!/usr/bin/env python3
"""Where the test suite's CPU goes, by process kind and by test (issue #25).

    sudo .venv/bin/python scripts/profile_suite.py [PYTEST ARGS...]   # default: the CI run

Runs ``python -m pytest ARGS`` (default ``-n 2 --dist loadfile -p no:randomly``) with
the kernel's process accounting on (``acct(2)``: needs CAP_SYS_PACCT, e.g. root; every
process that ends is written down with its CPU time, its parent and its command name,
also the ones killed or ended by ``os._exit``, which no Python hook sees), and with a
``sitecustomize`` on ``PYTHONPATH`` that writes each Python process's arguments and
``PYTEST_CURRENT_TEST`` at exit. Then prints the CPU seconds by kind of process
(``fc-cassette replay`` exec'd or forked, sample ``pytest`` runs, ``mitmdump``, ``node``
...) and the tests whose processes (the test's own and everything under them) spent the
most. The suite's own verdict is pytest's exit code, returned as this script's. (Accounting
is one switch for the whole system: the suite's own test of this script skips itself
under it.)

A process forked from the tests' zygotes (tests/cli_forks.py) shows as ``fork``; one
whose Python hook did not run (SIGKILL, ``os._exit``) has only the kernel's command name.
"""

from __future__ import annotations

import collections
import ctypes
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# struct acct_v3 (linux/acct.h): flag, version, tty, exitcode, uid, gid, pid, ppid,
# btime, etime (float), utime, stime, mem, io, rw, minflt, majflt, swaps (comp_t), comm
ACCT = struct.Struct("<BBHIIIIIIf8H16s")
HOOK = """
import atexit, os, sys
_FC_PROFILE_TEST = os.environ.get("PYTEST_CURRENT_TEST", "")  # the test that started it
_FC_PROFILE_INHERITED = "PYTEST_XDIST_WORKER" in os.environ  # (a worker sets it itself)
def _fc_profile_log():
    with open({log!r}, "a") as fh:  # (a fork's environment is set after the fork: read it now)
        test = (os.environ.get("PYTEST_CURRENT_TEST") or _FC_PROFILE_TEST).split(" ")[0]
        args = " ".join(sys.argv)[:300].replace("\\t", " ").replace("\\n", " ")
        worker = "" if _FC_PROFILE_INHERITED else os.environ.get("PYTEST_XDIST_WORKER", "")
        fh.write(f"{{os.getpid()}}\\t{{test}}\\t{{args}}\\t{{worker}}\\n")
atexit.register(_fc_profile_log)
"""


def _comp(c: int) -> float:
    """A comp_t (13-bit mantissa, base-8 exponent) in clock ticks, as seconds."""
    return ((c & 0x1FFF) << (3 * (c >> 13))) / os.sysconf("SC_CLK_TCK")


def records(path: Path) -> dict[int, dict]:
    data = path.read_bytes()
    out = {}
    for i in range(0, len(data) - ACCT.size + 1, ACCT.size):
        f = ACCT.unpack_from(data, i)
        comm = f[18].split(b"\0")[0].decode(errors="replace")
        out[f[6]] = {"ppid": f[7], "cpu": _comp(f[10]) + _comp(f[11]), "comm": comm}
    return out


def kind(args: str, forked: bool, comm: str) -> str:
    """A process's kind, from its arguments (empty: no Python hook ran)."""
    words = args.split()
    if not words:  # no exit hook ran: killed (the plugin's replay proxies), os._exit
        return f"({comm}: no exit hook)"
    first, command = words[0], next((w for w in words[1:] if not w.startswith("-")), "")
    head = first.rsplit("/", 1)[-1]
    if first.endswith("fc_cassette/__main__.py"):  # python -m fc_cassette
        return f"fc-cassette {command} (python -m: the plugin's, the API's)"
    if head in ("fc-cassette", "mitmdump"):
        sub = command if head == "fc-cassette" else ""
        return f"{head} {sub}".strip() + (" (forked)" if forked else "")
    if first.endswith("pytest/__main__.py") or head == "pytest":
        return "pytest (a sample suite's, the bench's)"
    if first == "-c":
        return "python -c (xdist workers of sample suites, snippets)"
    return head


def main(argv: list[str]) -> int:
    args = argv or ["-n", "2", "--dist", "loadfile", "-p", "no:randomly"]
    if os.environ.get("FC_PROFILE_SUITE"):  # acct(2) is one switch for the whole system
        print("profile_suite: already running under profile_suite", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    work = Path(tempfile.mkdtemp(prefix="fc-profile-suite-"))
    pacct, log = work / "pacct", work / "python.tsv"
    pacct.touch()
    (work / "sitecustomize.py").write_text(HOOK.format(log=str(log)))
    if libc.acct(str(pacct).encode()) != 0:
        print(f"profile_suite: acct(2): {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 2
    path = os.pathsep.join(filter(None, [str(work), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "FC_PROFILE_SUITE": "1"}
    for name in [n for n in env if n.startswith(("PYTEST_XDIST_", "PYTEST_CURRENT_TEST"))]:
        del env[name]  # run as a fresh pytest, also when started from inside a test
    try:
        code = subprocess.call([sys.executable, "-m", "pytest", "-q", *args], cwd=ROOT, env=env)
    finally:
        libc.acct(None)
    procs = records(pacct)
    logged = {}
    if log.exists():
        for line in log.read_text().splitlines():
            pid, test, cmd, worker = (line.split("\t") + ["", "", ""])[:4]
            logged[int(pid)] = (test, cmd, worker)
    root = next(p for p, r in procs.items() if r["ppid"] == os.getpid())
    kinds: collections.Counter[str] = collections.Counter()
    counts: collections.Counter[str] = collections.Counter()
    tests: collections.Counter[str] = collections.Counter()
    for pid, rec in procs.items():
        chain, p = [], pid
        while p in procs and p != root and p not in chain:
            chain.append(p)
            p = procs[p]["ppid"]
        if p != root:
            continue  # another process on the machine
        # the outermost test: the project's test that started a sample pytest run, not the
        # sample test that started the plugin's proxy inside it
        test = next((logged[c][0] for c in reversed(chain) if logged.get(c, ("",))[0]), "")
        parent = procs.get(rec["ppid"], {})
        forked = parent.get("comm", "").startswith("python") and rec["ppid"] not in logged
        args, worker = logged.get(pid, ("", "", ""))[1:]
        if pid == root:
            k = "the run's pytest (without xdist: the tests in-process too)"
        elif rec["ppid"] == root and worker:
            k = "the run's xdist workers (the tests in-process, collection)"
        elif not args and "pytest" in logged.get(rec["ppid"], ("", ""))[1][:120]:
            k = "fc-cassette replay (the plugin's, killed: no exit hook)"
        else:
            k = kind(args, forked, rec["comm"])
        kinds[k] += rec["cpu"]
        counts[k] += 1
        tests[test or "(the workers, collection, fixtures)"] += rec["cpu"]
    total = sum(kinds.values())
    print(f"\nCPU of the run's processes: {total:.1f} s in {sum(counts.values())} processes")
    for k, v in kinds.most_common(25):
        print(f"{v:8.1f} s {counts[k]:5d}  {k}")
    print("\nby test (its processes and their children):")
    for t, v in tests.most_common(25):
        print(f"{v:8.1f} s  {t}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
