"""The candidate-facing feedback page: strengths and what to develop, in words; no ranks,
no scores, no other candidates. HR releases it per candidate."""

from __future__ import annotations

from html import escape
from typing import Any

from hr.pages import label, page

#: Candidate-facing wording per dimension: (strength, what to develop), zh and en.
FEEDBACK: dict[str, dict[str, tuple[str, str]]] = {
    "zh": {
        "participation": ("积极参与讨论，发言充分。", "可以更主动地表达自己的观点。"),
        "idea_contribution": ("提出了新的想法和方案。", "可以多提出自己的新观点。"),
        "evidence": ("用数据、案例和理由支撑观点。", "提出观点时可以多给出数据或案例。"),
        "logical_structure": ("表达有条理，层次清晰。", "表达时可以先说结论，再分点说明。"),
        "turn_taking": ("尊重他人发言，轮流有序。", "等对方说完再发言，减少打断。"),
        "support": ("认可并延伸他人的想法。", "可以更多回应和认可他人的观点。"),
        "teamwork": ("与多位组员互动，邀请他人参与。", "可以与更多组员交流，邀请大家发言。"),
        "leadership": ("推动讨论进程，关注时间并做总结。",
                       "可以尝试引导讨论方向、提醒时间或做小结。"),
        "influence": ("观点得到他人的认同和延伸。", "可以更清楚地阐述观点，争取他人认同。"),
        "stress_resilience": ("被打断或质疑时保持从容。", "被打断或质疑时可以更从容地回应。"),
        "emotional_stability": ("语气平稳，情绪稳定。", "可以保持更平稳的语气。"),
        "rapport": ("倾听时给予积极回应。", "倾听时可以多给一些回应，如点头或简短认同。"),
    },
    "en": {
        "participation": ("You took an active part and made yourself heard.",
                          "Share your views more often."),
        "idea_contribution": ("You brought new ideas to the table.",
                              "Offer more ideas of your own."),
        "evidence": ("You backed your points with data, cases and reasons.",
                     "Support your points with data or examples."),
        "logical_structure": ("Your points were clearly structured.",
                              "Lead with your conclusion, then give your reasons in order."),
        "turn_taking": ("You let others finish and took turns respectfully.",
                        "Let others finish before you come in."),
        "support": ("You acknowledged and built on others' ideas.",
                    "Acknowledge and build on others' points more."),
        "teamwork": ("You engaged with many in the group and drew others in.",
                     "Engage with more of the group and invite others to speak."),
        "leadership": ("You moved the discussion forward, kept time and summarised.",
                       "Try steering the discussion, keeping time or summarising."),
        "influence": ("Others took up and built on your ideas.",
                      "Explain your ideas so that others can take them up."),
        "stress_resilience": ("You stayed composed when interrupted or challenged.",
                              "Stay composed when interrupted or challenged."),
        "emotional_stability": ("Your tone stayed steady.", "Keep a steadier tone."),
        "rapport": ("You showed you were listening.",
                    "Show you are listening with short acknowledgements."),
    },
}


def render_feedback_html(report: dict[str, Any], pid: str) -> str:
    """Candidate-facing: the three strongest and two weakest scored dimensions, in words; no
    ranks, no scores, no other candidates."""
    lang = report["session"].get("language", "en")
    zh = lang.startswith("zh")
    dims = report["portraits"][pid]["dimensions"]
    scored = sorted(((d["score"], k) for k, d in dims.items() if d["score"] is not None),
                    reverse=True)
    strengths = [k for _, k in scored[:3]]
    develop = [k for s, k in scored[-2:] if k not in strengths and s < 60]
    words = FEEDBACK["zh" if zh else "en"]
    li = lambda ks, i: "".join(  # noqa: E731
        f"<li><b>{escape(label(k, lang))}</b>: {escape(words[k][i])}</li>" for k in ks)
    name = {p['id']: p['name'] for p in report['participants']}.get(pid, pid)
    # the job profile's development suggestions for this candidate's low dimensions
    fit = (report.get("fit") or {}).get("candidates", {}).get(pid) or {}
    tips = "".join(f"<li><b>{escape(label(s['dimension'], lang))}</b>: {escape(s['text'])}</li>"
                   for s in fit.get("suggestions", []))
    if tips:
        develop = [k for k in develop if k not in {s["dimension"] for s in fit["suggestions"]}]
    if zh:
        body = (f"<h1>{escape(name)}，感谢参与讨论</h1><h2>你的优势</h2><ul>{li(strengths, 0)}</ul>"
                f"<h2>可以继续发展的方面</h2>"
                f"<ul>{tips + li(develop, 1) or '<li>各方面表现均衡</li>'}</ul>"
                "<p class=note>本反馈基于讨论中可观察的行为（发言、互动），不含排名。</p>")
    else:
        body = (f"<h1>Thank you for taking part, {escape(name)}</h1><h2>Your strengths</h2>"
                f"<ul>{li(strengths, 0)}</ul><h2>What to develop</h2>"
                f"<ul>{tips + li(develop, 1) or '<li>A balanced profile</li>'}</ul>"
                "<p class=note>This feedback is based on observable behaviour in the discussion "
                "(speaking, interaction) and contains no rankings.</p>")
    return page(name, body, lang)


