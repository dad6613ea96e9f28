"""A short templated summary per candidate, in Chinese or English, from the numbers only."""

from __future__ import annotations

from interaction.dimensions import DIMENSIONS

_NAME = {k: {"zh": zh, "en": en} for k, zh, en in DIMENSIONS}


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def summarize(
    scores: dict[str, float | None],
    ranks: dict[str, int | None],
    shares: dict[str, float],
    n: int,
    language: str,
    tied: frozenset[str] | set[str] = frozenset(),
) -> str:
    """scores/ranks: dimension -> value; shares: dimension -> the candidate's share of the
    group's total where one is meaningful (participation: talk, idea_contribution: ideas);
    tied: dimensions where another candidate has the same rank."""
    zh = language.startswith("zh")
    lang = "zh" if zh else "en"
    scored = [(k, s) for k, s in scores.items() if s is not None]
    if not scored:
        return "暂无足够数据生成评价。" if zh else "Not enough data for a summary yet."
    # best rank first; an outright place before a shared one, then the higher score
    best = sorted(scored, key=lambda ks: (ranks.get(ks[0]) or n + 1, ks[0] in tied, -ks[1]))
    head = best[0]
    rest = sorted((ks for ks in scored if ks[0] != head[0]), key=lambda ks: -ks[1])[:2]
    name = _NAME[head[0]][lang]
    rank = ranks.get(head[0])
    share = shares.get(head[0])
    if zh:
        place = "并列第" if head[0] in tied else "排名第"
        lead = f"{name}{place}{rank}" if rank else f"{name}{head[1]:.0f}分"
        if share is not None:
            lead += f"（占比{share:.0%}）"
        parts = [lead] + [f"{_NAME[k]['zh']}得分{s:.0f}分" for k, s in rest]
    else:
        joint = "joint " if head[0] in tied else ""
        lead = f"ranks {joint}{_ordinal(rank)} of {n} in {name}" if rank else \
            f"{name} {head[1]:.0f}"
        if share is not None:
            what = "speaking time" if head[0] == "participation" else "the group's ideas"
            lead += f" ({share:.0%} of {what})"
        parts = [lead] + [f"{_NAME[k]['en']} {s:.0f}" for k, s in rest]
    low = min(scored, key=lambda ks: ks[1])
    develop = low if low[1] < 50 and low[0] not in {k for k, _ in [head, *rest]} else None
    if zh:
        text = "，".join(parts)
        if develop:
            text += f"；待提升：{_NAME[develop[0]]['zh']}（{develop[1]:.0f}分）"
        return text + "。"
    text = "; ".join(parts)
    if develop:
        text += f"; to develop: {_NAME[develop[0]]['en']} ({develop[1]:.0f})"
    return text[0].upper() + text[1:] + "."
