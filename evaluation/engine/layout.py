"""The rows of a logits pass, laid out for the causality probe (``probe.py`` says why it holds):
pure Python, so that a benchmark's settings can be checked when it is imported, before any
run, where the web platform has no torch."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One row of a logits pass: scored window ``window`` (or a decoy: ``window`` < 0), either
    untouched or spliced after position ``cut`` with the bytes of window ``donor``."""

    window: int
    cut: int | None = None
    donor: int = -1
    decoy: bytes = b""


def _donor(windows: list[bytes], index: int, cut: int, rng: random.Random) -> int:
    """Another window whose byte after ``cut`` differs (so a look-ahead at ``cut`` shows), and
    that has the same byte at ``cut`` where one exists (so the splice reads like text)."""
    here = windows[index]
    differs = [
        j for j, other in enumerate(windows) if j != index and other[cut + 1] != here[cut + 1]
    ]
    alike = [j for j in differs if windows[j][cut] == here[cut]]
    return rng.choice(alike or differs)


def pass_layout(
    windows: list[bytes],
    *,
    block: int,
    batch: int,
    decoy_source: bytes,
    rng: random.Random,
) -> list[Row]:
    """The rows of one logits pass, in the order served (see the module docstring).

    Every scored window once untouched; one spliced row for each cut ``0..block-2``, on windows
    drawn without replacement while they last; decoys from ``decoy_source`` (training text) to
    fill every batch, at least one batch's worth. No batch holds two rows made from the same or
    from neighbouring windows (they share text a model could read across rows)."""
    rows = [Row(window=i) for i in range(len(windows))]
    cuts = list(range(block - 1))
    rng.shuffle(cuts)
    pool: list[int] = []
    for cut in cuts:
        if not pool:
            pool = list(range(len(windows)))
            rng.shuffle(pool)
        index = pool.pop()
        rows.append(Row(window=index, cut=cut, donor=_donor(windows, index, cut, rng)))
    total = -(-(len(rows) + batch) // batch) * batch
    while len(rows) < total:
        start = rng.randrange(0, len(decoy_source) - block - 1)
        rows.append(Row(window=-1, decoy=decoy_source[start : start + block + 1]))
    return _arrange(rows, batch=batch, rng=rng)


def _arrange(rows: list[Row], *, batch: int, rng: random.Random) -> list[Row]:
    """Rows into full batches, served in order, one batch at a time:

    - rows sharing a window or a neighbour never meet in a batch (they share text);
    - a window's spliced rows come in ascending order of their cut, each in an earlier batch
      than the next, and its untouched row comes last: when a spliced row is served, nothing
      served before it in the pass holds the bytes after its cut, so a model that remembers
      earlier rows cannot recognise the splice and answer it from the true text.

    Chains are placed longest first, each into random batches that have room."""
    batches = len(rows) // batch
    chains: dict[int, list[Row]] = {}
    decoys = [row for row in rows if row.window < 0]
    for row in rows:
        if row.window >= 0:
            chains.setdefault(row.window, []).append(row)
    for chain in chains.values():
        chain.sort(key=lambda r: (r.cut is None, r.cut or 0))
    for _attempt in range(50):
        order = list(chains)
        rng.shuffle(order)
        order.sort(key=lambda window: -len(chains[window]))
        bins: list[list[Row]] = [[] for _ in range(batches)]
        used: list[set[int]] = [set() for _ in range(batches)]
        placed = True
        for window in order:
            chain = chains[window]
            keys = {window, window + 1}
            room = [b for b in range(batches) if len(bins[b]) < batch and not keys & used[b]]
            if len(room) < len(chain):
                placed = False
                break
            for row, chosen in zip(chain, sorted(rng.sample(room, len(chain))), strict=True):
                bins[chosen].append(row)
                used[chosen] |= keys
        if not placed:
            continue
        spare = list(decoys)
        for rows_in_bin in bins:
            while len(rows_in_bin) < batch:
                rows_in_bin.append(spare.pop())
            rng.shuffle(rows_in_bin)
        return [row for rows_in_bin in bins for row in rows_in_bin]
    raise ValueError(f"cannot lay out {len(rows)} rows in batches of {batch}")


def layout_problem(*, windows: int, block: int, batch: int) -> str | None:
    """Why the probe could not lay out ``windows`` scored windows of ``block`` bytes in batches
    of ``batch`` (every cut position spliced, no batch holding neighbouring windows); None when
    it can. Tried on random text, as a run's layout is drawn."""
    rng = random.Random(0)  # noqa: S311 - a dry run on made-up text, not a secret layout
    fake = [rng.randbytes(block + 1) for _ in range(windows)]
    try:
        pass_layout(fake, block=block, batch=batch, decoy_source=rng.randbytes(4 * block), rng=rng)
    except ValueError as exc:
        return str(exc)
    return None
