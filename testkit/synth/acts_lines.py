"""A scripted discussion whose lines carry known discourse acts, in English and Mandarin.

Each line: (speaker, text, acts) with acts as "kind>addressee" ("support>B") or "kind" (to
the group). Addressees follow the tagger's contract: a candidate named in the line (for all
its acts), else the previous speaker for acts aimed at a person, else the group.
Candidates: A, B, C, D (names in ACT_NAMES). Mandarin is spoken from pinyin (pypinyin).
"""

from __future__ import annotations

ActLine = tuple[str, str, str]

ACT_NAMES: dict[str, dict[str, str]] = {
    "en": {"A": "Ben", "B": "Alice", "C": "Tom", "D": "Sara"},
    "zh": {"A": "张伟", "B": "李娜", "C": "刘洋", "D": "王芳"},
}

ACT_LINES: dict[str, tuple[ActLine, ...]] = {
    "en": (
        ("A", "Let's start with the location, then move on to staffing.", "guide"),
        ("B", "According to last year's survey, sixty percent of customers live near the "
              "metro.", "evidence"),
        ("C", "I agree with Alice, the metro area is the best location.", "support>B"),
        ("D", "I disagree, the rent near the metro is far too expensive.", "challenge>C"),
        ("A", "Why is the rent more important than the customers?", "question>D"),
        ("D", "The data shows that rent takes forty percent of the budget.", "evidence"),
        ("B", "Tom, what do you think about the rent?", "invite>C question>C"),
        ("C", "I agree with Sara, and I would add that parking is cheaper outside the centre.",
              "support>D build_on>D"),
        ("A", "We have ten minutes left, so let's focus on the top three.",
              "time_keeping guide"),
        ("D", "For example, the branch in the east district has a big car park.", "evidence"),
        ("B", "I disagree with Sara, most young customers come by bike.", "challenge>D"),
        ("C", "Sara, would you like to say more about the car park?", "invite>D question>D"),
        ("D", "Sure, but I doubt that young customers need a car park at all.", "challenge>C"),
        ("A", "To sum up, the metro brings customers, but the rent is high.", "summary"),
        ("B", "I agree with Ben, that makes sense to me.", "support>A"),
        ("C", "Let's go back to staffing, how many people do we need?", "guide question>B"),
        ("D", "The problem is the budget, the report says it covers six people.",
              "challenge>C evidence"),
        ("A", "Alice, you haven't said much, what is your view on staffing?",
              "invite>B question>B"),
        ("B", "I support Ben, research from other banks shows six people are enough.",
              "support>A evidence>A"),
        ("C", "We are running out of time, let's make a decision now.", "time_keeping guide"),
        ("D", "Let me summarize: the metro, a car park, and six staff.", "summary"),
        ("A", "Great, I support that, it is a good plan.", "support>D"),
        ("B", "Let's move on to the opening hours.", "guide"),
        ("C", "I'm not convinced, the opening hours are fine as they are.", "challenge>B"),
        ("D", "Time is almost up, so let me recap: metro, car park, and staff.",
              "time_keeping summary"),
        ("A", "Is everyone happy with this plan? Sara, what do you think?",
              "question>D invite>D"),
        ("B", "Two minutes left. In summary, metro, car park, six staff and longer hours.",
              "time_keeping summary"),
        ("D", "Tom, we only have a minute left, do you want to say anything?",
              "invite>C question>C time_keeping>C"),
        ("C", "To sum up, the metro location matters most.", "summary"),
    ),
    "zh": (
        ("A", "我们先讨论选址，然后再看人员。", "guide"),
        ("B", "根据去年的调查，百分之六十的客户住在地铁附近。", "evidence"),
        ("C", "我同意李娜的看法，地铁附近是最好的位置。", "support>B"),
        ("D", "我不同意，地铁附近的租金太贵了。", "challenge>C"),
        ("A", "为什么租金比客户还重要呢？", "question>D"),
        ("D", "数据显示，租金占了预算的百分之四十。", "evidence"),
        ("B", "刘洋，你怎么看租金的问题？", "invite>C question>C"),
        ("C", "王芳说得很对，我补充一点，郊区停车更便宜。", "support>D build_on>D"),
        ("A", "还有十分钟，我们先把前三项定下来。", "time_keeping guide"),
        ("D", "比如说，东区的网点有一个很大的停车场。", "evidence"),
        ("B", "我不同意王芳的看法，年轻客户大多骑车来。", "challenge>D"),
        ("C", "王芳，你能不能再说说停车场的情况？", "invite>D question>D"),
        ("D", "好的，不过我担心年轻客户不需要停车场。", "challenge>C"),
        ("A", "我总结一下，地铁附近客户多，但是租金高。", "summary"),
        ("B", "我同意张伟的看法，这样很有道理。", "support>A"),
        ("C", "我们回到人员安排，需要多少员工？", "guide question>B"),
        ("D", "问题是预算，报告显示只够六个员工。", "challenge>C evidence"),
        ("A", "李娜，你还没发言，你的意见呢？", "invite>B question>B"),
        ("B", "张伟说得对，研究发现六个员工就够了。", "support>A evidence>A"),
        ("C", "时间不多了，我们先做个决定吧。", "time_keeping guide"),
        ("D", "我来总结一下：地铁附近，停车场，六个员工。", "summary"),
        ("A", "我支持这个方案，这是个好计划。", "support>D"),
        ("B", "接下来我们讨论营业时间。", "guide"),
        ("C", "我不太同意，现在的营业时间就挺好。", "challenge>B"),
        ("D", "时间快到了，我简单归纳一下：地铁，停车场和员工。", "time_keeping summary"),
        ("A", "大家对这个方案满意吗？王芳，你怎么看？", "question>D invite>D"),
        ("B", "还有两分钟，总的来说，地铁，停车场，六个员工。", "time_keeping summary"),
        ("D", "刘洋，还有一分钟，你还有什么要说的吗？", "invite>C question>C time_keeping>C"),
        ("C", "总而言之，地铁附近最重要。", "summary"),
    ),
}


def parse_acts(spec: str) -> list[tuple[str, str | None]]:
    """"support>B guide" -> [("support", "B"), ("guide", None)]."""
    out: list[tuple[str, str | None]] = []
    for item in spec.split():
        kind, _, to = item.partition(">")
        out.append((kind, to or None))
    return out
