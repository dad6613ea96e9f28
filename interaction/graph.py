"""The interaction graph: who responds to, supports, builds on, challenges, interrupts,
invites and questions whom.

A networkx `MultiDiGraph` over the candidates, one edge per (src, dst, type) keyed by the
type, carrying a running `weight` and the `times` it was added. Fed incrementally from events
(`push`): `Turn` (responds: took the floor right after `dst`), `Interruption` (interrupts,
with successful/failed counts) and `Act` with an addressee (supports, builds_on,
challenges, invites, questions). Strengths per type are kept as running counters; the
measures that need the whole graph (reciprocity, breadth, betweenness, who-follows-whom)
are recomputed only when the graph changed since the last call (on <= 8 nodes that is well
under a millisecond), so a live update costs the same after 60 minutes as after one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import networkx as nx

from core.events import Act, Event, Interruption, Turn

EDGE_TYPES = ("responds", "supports", "builds_on", "challenges", "interrupts", "invites",
              "questions")
#: Act kinds that become edges towards their addressee.
ACT_EDGES = {
    "support": "supports",
    "build_on": "builds_on",
    "challenge": "challenges",
    "invite": "invites",
    "question": "questions",
}
#: Edge types that count as engaging with someone (interrupting does not).
ENGAGEMENT = ("responds", "supports", "builds_on", "challenges", "invites", "questions")


@dataclass(frozen=True, slots=True)
class GraphMeasures:
    """Derived measures, per candidate (documented in docs/rubric.md)."""

    out_strength: dict[str, dict[str, float]]  #: pid -> edge type -> weight sent
    in_strength: dict[str, dict[str, float]]  #: pid -> edge type -> weight received
    reciprocity: dict[str, float]  #: 0..1, balance of engagement given and received per partner
    breadth: dict[str, float]  #: 0..1, share of the others one engaged with (out or in)
    betweenness: dict[str, float]  #: 0..1, normalised betweenness on the engagement graph
    follows: dict[str, dict[str, float]]  #: pid -> whom they take the floor after (fractions)


class InteractionGraph:
    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)
        self.g: nx.MultiDiGraph = nx.MultiDiGraph()
        self.g.add_nodes_from(self.ids)
        self._out: dict[str, dict[str, float]] = {p: defaultdict(float) for p in self.ids}
        self._in: dict[str, dict[str, float]] = {p: defaultdict(float) for p in self.ids}
        self._last_turn: Turn | None = None
        self._cache: GraphMeasures | None = None

    # -- updates -----------------------------------------------------------------------
    def push(self, ev: Event) -> None:
        if isinstance(ev, Turn):
            prev, self._last_turn = self._last_turn, ev
            if prev is not None and prev.who != ev.who:
                self.add(ev.who, prev.who, "responds", ev.start)
        elif isinstance(ev, Interruption):
            self.add(ev.by, ev.of, "interrupts", ev.at, successful=ev.successful)
        elif isinstance(ev, Act) and ev.to is not None and ev.to != ev.by:
            etype = ACT_EDGES.get(ev.kind)
            if etype is not None:
                self.add(ev.by, ev.to, etype, ev.at)

    def add(self, src: str, dst: str, etype: str, at: float, weight: float = 1.0,
            successful: bool | None = None) -> None:
        for p in (src, dst):
            if p not in self._out:  # a late joiner: a node from the first edge on
                self.ids.append(p)
                self.g.add_node(p)
                self._out[p], self._in[p] = defaultdict(float), defaultdict(float)
        if not self.g.has_edge(src, dst, key=etype):
            self.g.add_edge(src, dst, key=etype, type=etype, weight=0.0, times=[],
                            successful=0, failed=0)
        e = self.g.edges[src, dst, etype]
        e["weight"] += weight
        e["times"].append(round(at, 2))
        if successful is not None:
            e["successful" if successful else "failed"] += 1
        self._out[src][etype] += weight
        self._in[dst][etype] += weight
        self._cache = None

    # -- reads -------------------------------------------------------------------------
    def weight(self, src: str, dst: str, etype: str) -> float:
        if self.g.has_edge(src, dst, key=etype):
            return float(self.g.edges[src, dst, etype]["weight"])
        return 0.0

    def measures(self) -> GraphMeasures:
        if self._cache is None:
            self._cache = self._compute()
        return self._cache

    def _compute(self) -> GraphMeasures:
        ids, n = self.ids, len(self.ids)
        eng: dict[tuple[str, str], float] = defaultdict(float)
        for s, d, k, w in self.g.edges(keys=True, data="weight"):
            if k in ENGAGEMENT:
                eng[(s, d)] += w
        recip, breadth = {}, {}
        for p in ids:
            num = den = 0.0
            partners = set()
            for q in ids:
                if q == p:
                    continue
                a, b = eng.get((p, q), 0.0), eng.get((q, p), 0.0)
                num += min(a, b)
                den += max(a, b)
                if a > 0 or b > 0:
                    partners.add(q)
            recip[p] = num / den if den > 0 else 0.0
            breadth[p] = len(partners) / (n - 1) if n > 1 else 0.0
        simple = nx.DiGraph()
        simple.add_nodes_from(ids)
        for (s, d), w in eng.items():
            simple.add_edge(s, d, distance=1.0 / w)  # a stronger tie is a shorter path
        btw = nx.betweenness_centrality(simple, weight="distance", normalized=True) if n > 2 \
            else dict.fromkeys(ids, 0.0)
        follows = {}
        for p in ids:
            tot = self._out[p].get("responds", 0.0)
            follows[p] = {q: round(self.weight(p, q, "responds") / tot, 4)
                          for q in ids if q != p and tot > 0}
        return GraphMeasures(
            out_strength={p: dict(self._out[p]) for p in ids},
            in_strength={p: dict(self._in[p]) for p in ids},
            reciprocity=recip,
            breadth=breadth,
            betweenness={p: float(btw.get(p, 0.0)) for p in ids},
            follows=follows,
        )

    def to_report(self) -> dict[str, Any]:
        """The report's `graph`: nodes, edges [{src, dst, type, weight}] plus extra fields
        (times, successful/failed for interrupts) and the derived `measures`."""
        edges = []
        for s, d, k, data in sorted(self.g.edges(keys=True, data=True)):
            e: dict[str, Any] = {"src": s, "dst": d, "type": k, "weight": float(data["weight"]),
                                 "times": list(data["times"])}
            if k == "interrupts":
                e["successful"], e["failed"] = data["successful"], data["failed"]
            edges.append(e)
        m = self.measures()
        return {
            "nodes": list(self.ids),
            "edges": edges,
            "measures": {
                "out_strength": m.out_strength,
                "in_strength": m.in_strength,
                "reciprocity": {p: round(v, 4) for p, v in m.reciprocity.items()},
                "breadth": {p: round(v, 4) for p, v in m.breadth.items()},
                "betweenness": {p: round(v, 4) for p, v in m.betweenness.items()},
                "follows": m.follows,
            },
        }
