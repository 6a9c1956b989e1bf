"""pandas DataFrames in HDF5 files (what DeepLabCut writes), read without running code from the file.

``pandas.read_hdf`` and PyTables unpickle attributes when they open a file, so a crafted ``.h5`` runs
code on the reader's machine. This reader opens the file with ``h5py`` (which never unpickles) and reads
only numeric arrays and byte strings. The one pickled piece pandas' "table" format needs, the list of
column labels (``values_block_0_kind``: a protocol-0 pickle of a list of tuples of strings), is decoded
by :func:`decode_plain_pickle`, a small interpreter of the data-only pickle opcodes that refuses
everything else (classes, functions, reductions) instead of running it.

Both pandas layouts are read: ``format="table"`` (DeepLabCut's default: a compound dataset ``table`` with
``values_block_0``) and the "fixed" format (``axis0_level*`` / ``axis0_label*`` / ``block0_values``).
"""

from __future__ import annotations

import pickletools
from pathlib import Path

import numpy as np

from mocap.errors import InputError

#: Opcodes of data-only pickles: strings, numbers, lists, tuples, the memo. Anything else is refused.
_DATA_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP",
    "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
    "FLOAT", "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE",
    "BINUNICODE", "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
    "EMPTY_LIST", "LIST", "APPEND", "APPENDS", "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
    "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "GET", "BINGET", "LONG_BINGET",
})


class UnsafePickleError(ValueError):
    """The bytes hold something other than plain data (a class, a function, a call)."""


def decode_plain_pickle(data: bytes):
    """The value of a pickle made only of strings, numbers, lists and tuples, without ``pickle``.

    Raises ``UnsafePickleError`` for any other opcode (``GLOBAL``, ``REDUCE``, ``BUILD``...), so nothing
    in the bytes can run code, and for malformed pickles."""
    try:
        return _interpret(data)
    except (AttributeError, IndexError, KeyError, TypeError) as exc:
        raise UnsafePickleError(f"malformed pickle ({type(exc).__name__})") from exc


def _interpret(data: bytes):
    stack: list = []
    marks: list[int] = []
    memo: dict = {}
    try:
        ops = list(pickletools.genops(data))
    except Exception as exc:  # noqa: BLE001 - any malformation: not a plain pickle
        raise UnsafePickleError(f"not a pickle ({exc})") from exc
    for op, arg, _ in ops:
        name = op.name
        if name not in _DATA_OPCODES:
            raise UnsafePickleError(f"pickle opcode {name} is not plain data")
        if name in ("PROTO", "FRAME"):
            continue
        if name == "STOP":
            if len(stack) != 1:
                raise UnsafePickleError("malformed pickle")
            return stack[0]
        if name == "MARK":
            marks.append(len(stack))
        elif name == "POP":
            stack.pop()
        elif name == "POP_MARK":
            del stack[marks.pop():]
        elif name == "DUP":
            stack.append(stack[-1])
        elif name == "NONE":
            stack.append(None)
        elif name in ("NEWTRUE", "NEWFALSE"):
            stack.append(name == "NEWTRUE")
        elif name in ("EMPTY_LIST",):
            stack.append([])
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name in ("LIST", "TUPLE"):
            start = marks.pop()
            items = stack[start:]
            del stack[start:]
            stack.append(list(items) if name == "LIST" else tuple(items))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif name == "APPEND":
            item = stack.pop()
            stack[-1].append(item)
        elif name == "APPENDS":
            start = marks.pop()
            items = stack[start:]
            del stack[start:]
            stack[-1].extend(items)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        else:  # numbers, strings, bytes: the opcode's argument is the value
            stack.append(arg)
    raise UnsafePickleError("pickle without STOP")


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, np.bytes_)) else str(value)


def read_frame(path: str | Path, key: str | None = None, *, fix: str) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """``(column labels, values (N, K) float64)`` of a pandas DataFrame stored in an HDF5 file.

    ``key``: the group (default: the only frame in the file, or DeepLabCut's ``df_with_missing``). Labels
    are tuples, one string per column level. Errors are ``InputError`` naming the file, with ``fix``."""
    import h5py

    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(f"HDF5 file is unreadable ({exc})", path=path, fix=fix) from exc
    try:
        with fh:
            return _read_group(fh, key, path, fix)
    except InputError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:  # a damaged file
        raise InputError(f"HDF5 file is damaged ({type(exc).__name__}: {exc})", path=path, fix=fix) from exc


def _read_group(fh, key: str | None, path: Path, fix: str):
    import h5py

    groups = [k for k, v in fh.items() if isinstance(v, h5py.Group)]
    key = key or ("df_with_missing" if "df_with_missing" in groups else (groups[0] if len(groups) == 1 else None))
    if key is None or key not in fh or not isinstance(fh[key], h5py.Group):
        raise InputError(f"no DataFrame group in the HDF5 file (groups: {groups or 'none'})", path=path, fix=fix)
    group = fh[key]
    if "table" in group:
        return _read_table(group["table"], path, fix)
    if "block0_values" in group:
        return _read_fixed(group, path, fix)
    raise InputError(f"group {key!r} is not a pandas DataFrame (no 'table' or 'block0_values')", path=path, fix=fix)


def _read_table(table, path: Path, fix: str):
    names = table.dtype.names or ()
    blocks = sorted(n for n in names if n.startswith("values_block_"))
    if blocks != ["values_block_0"]:
        raise InputError(f"expected one block of numbers in the table, found {blocks or 'none'}", path=path, fix=fix)
    values = np.asarray(table["values_block_0"], dtype=np.float64)
    raw = table.attrs.get("values_block_0_kind")
    if raw is None:
        raise InputError("the table has no column labels (values_block_0_kind)", path=path, fix=fix)
    try:
        labels = decode_plain_pickle(bytes(np.asarray(raw).tobytes() if not isinstance(raw, bytes) else raw))
    except UnsafePickleError as exc:
        raise InputError(f"the column labels are not plain data ({exc}); refusing to read them", path=path,
                         fix="export the predictions again with DeepLabCut (or use its .csv)") from exc
    if not isinstance(labels, list) or not all(isinstance(c, tuple) for c in labels):
        raise InputError("the column labels are not a list of tuples", path=path, fix=fix)
    return [tuple(_text(x) for x in c) for c in labels], values.reshape(len(values), -1)


def _read_fixed(group, path: Path, fix: str):
    n_levels = int(group.attrs.get("axis0_nlevels", 1))
    values = np.asarray(group["block0_values"], dtype=np.float64)
    if n_levels == 1:
        labels = [(_text(v),) for v in np.asarray(group["axis0"])]
    else:
        levels = [np.asarray(group[f"axis0_level{i}"]) for i in range(n_levels)]
        codes = [np.asarray(group[f"axis0_label{i}"]) for i in range(n_levels)]
        labels = [tuple(_text(levels[i][codes[i][k]]) for i in range(n_levels)) for k in range(len(codes[0]))]
    if values.ndim != 2 or values.shape[1] != len(labels):
        raise InputError(f"the DataFrame has {len(labels)} column labels for values of shape {values.shape}",
                         path=path, fix=fix)
    return labels, values
