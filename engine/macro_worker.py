"""The process macros run in: one JSON request per line on stdin, one answer per line out.

Started by engine/macros.py as `python -I engine/macro_worker.py MEMORY_MB MAX_ANSWER`.
It loads only engine/sandbox.py (by path: importing the `engine` package would load the whole engine
into the process whose memory we limit), then caps its own address space at what it uses
plus MEMORY_MB before it reads the first request. Before each macro it also moves its CPU
limit to the CPU time used so far plus the macro's time limit, so a macro stuck in one C
call that the sandbox's line tracer cannot interrupt is killed by SIGXCPU.

Request: {"script", "data", "extra", "time_limit"}. Answer: {"ok": true, "data"} with the
JSON-storable names the script left, or {"ok": false, "kind", "error"}, kind being
"refused", "timeout", "memory" or "error". After a memory error the worker exits: a
process that ran out of memory is not trusted with the next macro.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import resource
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO


def _load_sandbox() -> Any:  # the sandbox module, loaded by path
    path = Path(__file__).with_name("sandbox.py")
    spec = importlib.util.spec_from_file_location("macro_sandbox", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _address_space() -> int:
    """Bytes of virtual memory this process maps now (VmSize)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _storable(data: dict[str, Any]) -> dict[str, Any]:
    """The values of `data` that can be stored as task data (others are dropped)."""
    result = {}
    for name, value in data.items():
        try:
            result[name] = json.loads(json.dumps(value, default=_plain, allow_nan=False))
        except (TypeError, ValueError, RecursionError):
            continue
    return result


def _answer(out: BinaryIO, answer: dict[str, Any], max_bytes: int) -> None:
    line = json.dumps(answer).encode()
    if len(line) > max_bytes:
        error = f"the macro left more than {max_bytes} bytes of data"
        line = json.dumps({"ok": False, "kind": "memory", "error": error}).encode()
    out.write(line + b"\n")
    out.flush()


def main() -> None:
    memory_mb, max_answer = int(sys.argv[1]), int(sys.argv[2])
    sandbox = _load_sandbox()
    # The protocol owns the real stdout; anything else writing there must not corrupt it.
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    limit = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        request = json.loads(line)
        time_limit = float(request["time_limit"])
        soft = math.ceil(_cpu_seconds() + time_limit + 1)
        if cpu_hard != resource.RLIM_INFINITY:
            soft = min(soft, cpu_hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_hard))
        sandbox.TIME_LIMIT_SECONDS = time_limit
        data = dict(request["data"])
        try:
            sandbox.execute(request["script"], data, request.get("extra") or None)
            answer: dict[str, Any] = {"ok": True, "data": _storable(data)}
        except MemoryError:
            # Answered after the except block, once the traceback (and with it the
            # macro's frames and their data) is gone.
            answer = {"ok": False, "kind": "memory", "error": "out of memory"}
        except sandbox.SandboxMemoryLimit as exc:
            answer = {"ok": False, "kind": "memory", "error": str(exc)}
        except sandbox.SandboxTimeout as exc:
            answer = {"ok": False, "kind": "timeout", "error": str(exc)}
        except sandbox.SandboxError as exc:
            answer = {"ok": False, "kind": "refused", "error": str(exc)}
        except RecursionError as exc:
            answer = {"ok": False, "kind": "error", "error": f"RecursionError: {exc}"}
        except Exception as exc:  # the macro's own error, reported to the diagram's incident
            answer = {"ok": False, "kind": "error", "error": f"{type(exc).__name__}: {exc}"}
        del data  # the macro's values, freed before the answer is encoded
        try:
            _answer(out, answer, max_answer)
        except MemoryError:
            answer = {"ok": False, "kind": "memory", "error": "out of memory"}
            _answer(out, answer, max_answer)
        if answer.get("error") == "out of memory":
            return  # a process that ran out of memory does not run the next macro


if __name__ == "__main__":
    main()
