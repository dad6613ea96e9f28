"""The role discussion's script: who says what, which acts each turn performs, and the
backchannels and interruptions placed in it (see roles.py). Mandarin lines are (display,
pinyin for espeak's cmn-latn-pinyin voice), with full-width clause punctuation (texts.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .texts import Line

ROLES = ("leader", "supporter", "interrupter", "quiet")


@dataclass(frozen=True)
class Beat:
    role: str  #: who holds this turn
    acts: tuple[tuple[str, str | None], ...]  #: (act kind, addressee role or None)
    lines: dict[str, tuple[Line, ...]]  #: language -> sentences
    bc: tuple[str, ...] = ()  #: roles giving a backchannel during the turn
    fail: str | None = None  #: role making a failed interruption during the turn
    cut_by: str | None = None  #: role that takes the floor by interrupting (speaks next)


def _en(*s: str) -> tuple[Line, ...]:
    return tuple((x, x) for x in s)


BEATS: tuple[Beat, ...] = (
    Beat("leader", (("guide", None),), {
        "en": _en("Let's begin. First we agree on the criteria, then we rank the options.",
                  "Everyone, please name the one factor that matters most."),
        "zh": (("我们开始吧，首先确定标准，然后再排序。",
                "wo3 men5 kai1 shi3 ba5， shou3 xian1 que4 ding4 biao1 zhun3， ran2 hou4 zai4"
                " pai2 xu4。"),
               ("每个人先说一个最重要的因素。",
                "mei3 ge4 ren2 xian1 shuo1 yi2 ge4 zui4 zhong4 yao4 de5 yin1 su4。"))},
        bc=("supporter",)),
    Beat("interrupter", (("new_idea", None),), {
        "en": _en("I think security has to come first, that is non-negotiable for a bank.",
                  "The alarm system is far too old."),
        "zh": (("我觉得第一位应该是安全，这是银行的底线。",
                "wo3 jue2 de5 di4 yi1 wei4 ying1 gai1 shi4 an1 quan2， zhe4 shi4 yin2 hang2 de5"
                " di3 xian4。"),
               ("报警系统也太旧了。", "bao4 jing3 xi4 tong3 ye3 tai4 jiu4 le5。"))}),
    Beat("supporter", (("support", "interrupter"), ("build_on", "interrupter")), {
        "en": _en("I agree, and building on that, the cameras should be upgraded too.",
                  "Customers will feel much safer."),
        "zh": (("我同意，在这个基础上，摄像头也要升级。",
                "wo3 tong2 yi4， zai4 zhe4 ge4 ji1 chu3 shang4， she4 xiang4 tou2 ye3 yao4"
                " sheng1 ji2。"),
               ("这样客户会更放心。", "zhe4 yang4 ke4 hu4 hui4 geng4 fang4 xin1。"))},
        cut_by="interrupter"),
    Beat("interrupter", (("new_idea", None), ("new_idea", None)), {
        "en": _en("Location matters most to me: close to the metro and to the housing estates.",
                  "Parking is important too, many small business owners come by car."),
        "zh": (("选址很关键，最好靠近地铁站和居民区。",
                "xuan3 zhi3 hen3 guan1 jian4， zui4 hao3 kao4 jin4 di4 tie3 zhan4 he2 ju1 min2"
                " qu1。"),
               ("停车位也很重要，很多小企业客户是开车来的。",
                "ting2 che1 wei4 ye3 hen3 zhong4 yao4， hen3 duo1 xiao3 qi3 ye4 ke4 hu4 shi4"
                " kai1 che1 lai2 de5。"))}),
    Beat("leader", (("invite", "quiet"), ("question", "quiet")), {
        "en": _en("We haven't heard from you yet, what do you think?"),
        "zh": (("你还没发表意见，你怎么看？",
                "ni3 hai2 mei2 fa1 biao3 yi4 jian4， ni3 zen3 me5 kan4？"),)}),
    Beat("quiet", (("new_idea", None),), {
        "en": _en("Maybe training matters too."),
        "zh": (("也许培训也很重要。", "ye3 xu3 pei2 xun4 ye3 hen3 zhong4 yao4。"),)}),
    Beat("supporter", (("support", "quiet"), ("build_on", "quiet")), {
        "en": _en("Good point, I agree, training matters.",
                  "Staff training should come early, otherwise nobody will use the new "
                  "equipment."),
        "zh": (("说得好，我同意，培训很重要。",
                "shuo1 de5 hao3， wo3 tong2 yi4， pei2 xun4 hen3 zhong4 yao4。"),
               ("员工培训要放在前面，不然新设备也没人会用。",
                "yuan2 gong1 pei2 xun4 yao4 fang4 zai4 qian2 mian4， bu4 ran2 xin1 she4 bei4"
                " ye3 mei2 ren2 hui4 yong4。"))},
        bc=("leader",)),
    Beat("leader", (("time_keeping", None), ("guide", None)), {
        "en": _en("We have ten minutes left, so let's fix the top three first.",
                  "Have a look at page three, it shows the customer numbers."),
        "zh": (("我们还有十分钟，先把前三项定下来吧。",
                "wo3 men5 hai2 you3 shi2 fen1 zhong1， xian1 ba3 qian2 san1 xiang4 ding4 xia4"
                " lai2 ba5。"),
               ("大家看一下材料，第三页有客流量的统计。",
                "da4 jia1 kan4 yi2 xia4 cai2 liao4， di4 san1 ye4 you3 ke4 liu2 liang4 de5"
                " tong3 ji4。"))},
        fail="interrupter"),
    Beat("interrupter", (("challenge", "leader"), ("new_idea", None)), {
        "en": _en("I don't really agree, the renovation budget can wait.",
                  "Self-service machines would shorten the queues at peak hours."),
        "zh": (("我不太同意，装修预算应该往后放。",
                "wo3 bu2 tai4 tong2 yi4， zhuang1 xiu1 yu4 suan4 ying1 gai1 wang3 hou4 fang4。"),
               ("自助设备可以分流，高峰期排队时间会短很多。",
                "zi4 zhu4 she4 bei4 ke3 yi3 fen1 liu2， gao1 feng1 qi1 pai2 dui4 shi2 jian1"
                " hui4 duan3 hen3 duo1。"))}),
    Beat("supporter", (("build_on", "interrupter"),), {
        "en": _en("Right, and building on that, we could set up a dedicated desk for small "
                  "businesses.", "That would improve the service."),
        "zh": (("对，在这个基础上，可以设一个专门的小微企业窗口。",
                "dui4， zai4 zhe4 ge4 ji1 chu3 shang4， ke3 yi3 she4 yi2 ge4 zhuan1 men2 de5"
                " xiao3 wei1 qi3 ye4 chuang1 kou3。"),
               ("这样服务会更好。", "zhe4 yang4 fu2 wu4 hui4 geng4 hao3。"))},
        cut_by="interrupter"),
    Beat("interrupter", (("evidence", None),), {
        "en": _en("According to last year's data, the nearby branches had queues of over "
                  "twenty minutes.", "So we need more self-service machines."),
        "zh": (("根据去年的数据，周边网点每天排队超过二十分钟。",
                "gen1 ju4 qu4 nian2 de5 shu4 ju4， zhou1 bian1 wang3 dian3 mei3 tian1 pai2 dui4"
                " chao1 guo4 er4 shi2 fen1 zhong1。"),
               ("所以自助设备一定要多放几台。",
                "suo3 yi3 zi4 zhu4 she4 bei4 yi2 ding4 yao4 duo1 fang4 ji3 tai2。"))}),
    Beat("leader", (("summary", None), ("question", None)), {
        "en": _en("So far we have security, location and service. Does everyone agree?",
                  "If so, we keep this order for the ranking."),
        "zh": (("目前我们有安全，选址和服务三项，大家同意吗？",
                "mu4 qian2 wo3 men5 you3 an1 quan2， xuan3 zhi3 he2 fu2 wu4 san1 xiang4， da4"
                " jia1 tong2 yi4 ma5？"),
               ("如果同意，我们就按这个顺序。",
                "ru2 guo3 tong2 yi4， wo3 men5 jiu4 an4 zhe4 ge4 shun4 xu4。"))},
        bc=("supporter", "quiet")),
    Beat("supporter", (("support", "leader"),), {
        "en": _en("Yes, I agree with that order, security comes first.",
                  "Service matters as well."),
        "zh": (("是的，我同意这个顺序，安全放在第一位。",
                "shi4 de5， wo3 tong2 yi4 zhe4 ge4 shun4 xu4， an1 quan2 fang4 zai4 di4 yi1"
                " wei4。"),
               ("服务也很重要。", "fu2 wu4 ye3 hen3 zhong4 yao4。"))},
        cut_by="interrupter"),
    Beat("interrupter", (("new_idea", None), ("new_idea", None)), {
        "en": _en("We could open until seven in the evening for people who work.",
                  "More and more business is online, so the branch can be smaller."),
        "zh": (("营业时间可以延长到晚上七点，方便上班族。",
                "ying2 ye4 shi2 jian1 ke3 yi3 yan2 chang2 dao4 wan3 shang4 qi1 dian3， fang1"
                " bian4 shang4 ban1 zu2。"),
               ("线上业务越来越多，网点面积可以小一点。",
                "xian4 shang4 ye4 wu4 yue4 lai2 yue4 duo1， wang3 dian3 mian4 ji1 ke3 yi3 xiao3"
                " yi4 dian3。"))}),
    Beat("leader", (("time_keeping", None), ("invite", None)), {
        "en": _en("We have five minutes left, we need to agree on a conclusion.",
                  "Please give one last comment each."),
        "zh": (("还有五分钟，我们需要统一一下结论。",
                "hai2 you3 wu3 fen1 zhong1， wo3 men5 xu1 yao4 tong3 yi1 yi2 xia4 jie2 lun4。"),
               ("请大家再说一句最后的意见。",
                "qing3 da4 jia1 zai4 shuo1 yi2 ju4 zui4 hou4 de5 yi4 jian4。"))},
        fail="interrupter"),
    Beat("supporter", (("support", "leader"),), {
        "en": _en("Okay, I support this conclusion."),
        "zh": (("好的，我支持这个结论。", "hao3 de5， wo3 zhi1 chi2 zhe4 ge4 jie2 lun4。"),)}),
    Beat("leader", (("summary", None),), {
        "en": _en("To sum up: security, location and service, everyone agrees on those three.",
                  "Thank you all."),
        "zh": (("我总结一下：安全，选址，服务，这三项大家都同意。",
                "wo3 zong3 jie2 yi2 xia4： an1 quan2， xuan3 zhi3， fu2 wu4， zhe4 san1 xiang4"
                " da4 jia1 dou1 tong2 yi4。"),
               ("谢谢大家的配合。", "xie4 xie5 da4 jia1 de5 pei4 he2。"))},
        bc=("supporter",)),
)
