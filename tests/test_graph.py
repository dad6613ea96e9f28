"""The interaction graph from typed events: edges, weights, times and derived measures."""

from core.events import Act, Interruption, Turn
from interaction.graph import InteractionGraph


def _graph():
    g = InteractionGraph(["A", "B", "C", "D"])
    for ev in (
        Turn("A", 0.0, 5.0), Turn("B", 5.2, 9.0), Turn("A", 9.3, 12.0), Turn("C", 12.1, 15.0),
        Turn("C", 15.0, 16.0),  # same holder again: no responds edge
        Interruption("C", "A", 13.0, True), Interruption("C", "A", 14.0, False),
        Act("support", "B", "A", 5.2, "I agree", "rule", 0.8),
        Act("new_idea", "B", None, 5.2, "idea", "novelty", 0.9),  # no addressee: no edge
        Act("invite", "A", "D", 9.3, "what do you think?", "rule", 1.0),
    ):
        g.push(ev)
    return g


def test_edges_are_typed_weighted_and_time_stamped():
    rep = _graph().to_report()
    edges = {(e["src"], e["dst"], e["type"]): e for e in rep["edges"]}
    assert set(edges) == {("B", "A", "responds"), ("A", "B", "responds"), ("C", "A", "responds"),
                          ("C", "A", "interrupts"), ("B", "A", "supports"), ("A", "D", "invites")}
    assert edges[("C", "A", "interrupts")]["weight"] == 2.0
    assert (edges[("C", "A", "interrupts")]["successful"],
            edges[("C", "A", "interrupts")]["failed"]) == (1, 1)
    assert edges[("B", "A", "supports")]["times"] == [5.2]
    assert rep["nodes"] == ["A", "B", "C", "D"]


def test_measures():
    m = _graph().measures()
    assert m.out_strength["C"]["interrupts"] == 2.0
    assert m.in_strength["A"]["supports"] == 1.0
    # A<->B engage both ways (A->B responds 1; B->A responds 1 + supports 1)
    assert abs(m.reciprocity["B"] - 0.5) < 1e-9
    assert m.reciprocity["D"] == 0.0
    assert abs(m.breadth["A"] - 1.0) < 1e-9  # A engaged with B, C (in) and D (invite)
    assert m.breadth["D"] == 1 / 3
    assert m.betweenness["A"] > 0 and m.betweenness["D"] == 0.0  # A brokers between the others
    assert m.follows["B"] == {"A": 1.0, "C": 0.0, "D": 0.0}


def test_measures_are_cached_until_the_graph_changes():
    g = _graph()
    first = g.measures()
    assert g.measures() is first
    g.push(Turn("D", 16.5, 18.0))
    assert g.measures() is not first
    assert g.measures().follows["D"] == {"A": 0.0, "B": 0.0, "C": 1.0}
