"""What the synthetic candidates say: a bank-branch ranking task, in English and Mandarin.

Each entry is (display text, espeak input). Mandarin goes to espeak-ng's `cmn-latn-pinyin`
voice as pinyin with tone numbers, syllables separated by spaces. Clause ends MUST use
full-width punctuation (，。？：): after a tone digit an ASCII "." is read as part of a
number and gives no pause. 一/不 are written with their sandhi tone (yi2 xia4, bu2 dui4)
because espeak does not apply those; third-tone sandhi it applies itself.
"""

from __future__ import annotations

Line = tuple[str, str]

TURNS: dict[str, tuple[Line, ...]] = {
    "en": tuple(
        (s, s)
        for s in (
            "I think security has to come first, that is non-negotiable for a bank.",
            "Location matters most to me: close to the metro and to the housing estates.",
            "I agree, but we also need to keep the budget in mind.",
            "A lot of our customers are elderly, so we can't cut the counter staff too much.",
            "Self-service machines would shorten the queues at peak hours.",
            "Staff training should come early, otherwise nobody will use the new equipment.",
            "We're running short on time, so let's fix the top three first.",
            "Parking is important too, many small business owners come by car.",
            "We could open until seven in the evening for people who work.",
            "According to last year's data, the nearby branches had queues of over twenty minutes.",
            "Let me add one point: wealth management is the most profitable service.",
            "So let's rank them: security first, location second.",
            "We haven't heard from everyone yet, what do you think?",
            "I don't really agree, the renovation budget can wait.",
            "More and more business is online, so the branch can be smaller.",
            "Customer experience drives word of mouth, and that drives footfall.",
            "Right, we could set up a dedicated desk for small businesses.",
            "We have five minutes left, we need to agree on a conclusion.",
            "To sum up: security, location and service, everyone agrees on those three.",
            "If the budget is limited, I would secure the alarm and camera system first.",
            "There are many young families nearby, so we could promote mobile banking.",
            "That's a good idea, and I would like to build on it.",
            "My worry is staffing, the first month after opening will be very busy.",
            "Have a look at page three, it shows the customer numbers.",
        )
    ),
    "zh": (
        (
            "我觉得第一位应该是安全，这是银行的底线。",
            "wo3 jue2 de5 di4 yi1 wei4 ying1 gai1 shi4 an1 quan2， zhe4 shi4 yin2 hang2 de5"
            " di3 xian4。",
        ),
        (
            "选址很关键，最好靠近地铁站和居民区。",
            "xuan3 zhi3 hen3 guan1 jian4， zui4 hao3 kao4 jin4 di4 tie3 zhan4 he2 ju1 min2 qu1。",
        ),
        (
            "我同意，但是成本也要算进去。",
            "wo3 tong2 yi4， dan4 shi4 cheng2 ben3 ye3 yao4 suan4 jin4 qu4。",
        ),
        (
            "老年客户很多，柜台服务不能减少太多。",
            "lao3 nian2 ke4 hu4 hen3 duo1， gui4 tai2 fu2 wu4 bu4 neng2 jian3 shao3 tai4 duo1。",
        ),
        (
            "自助设备可以分流，高峰期排队时间会短很多。",
            "zi4 zhu4 she4 bei4 ke3 yi3 fen1 liu2， gao1 feng1 qi1 pai2 dui4 shi2 jian1 hui4 duan3"
            " hen3 duo1。",
        ),
        (
            "员工培训要放在前面，不然新设备也没人会用。",
            "yuan2 gong1 pei2 xun4 yao4 fang4 zai4 qian2 mian4， bu4 ran2 xin1 she4 bei4 ye3 mei2"
            " ren2 hui4 yong4。",
        ),
        (
            "我们时间不多了，先把前三项定下来吧。",
            "wo3 men5 shi2 jian1 bu4 duo1 le5， xian1 ba3 qian2 san1 xiang4 ding4 xia4 lai2 ba5。",
        ),
        (
            "停车位也很重要，很多小企业客户是开车来的。",
            "ting2 che1 wei4 ye3 hen3 zhong4 yao4， hen3 duo1 xiao3 qi3 ye4 ke4 hu4 shi4 kai1 che1"
            " lai2 de5。",
        ),
        (
            "营业时间可以延长到晚上七点，方便上班族。",
            "ying2 ye4 shi2 jian1 ke3 yi3 yan2 chang2 dao4 wan3 shang4 qi1 dian3， fang1 bian4"
            " shang4 ban1 zu2。",
        ),
        (
            "根据去年的数据，周边网点每天排队超过二十分钟。",
            "gen1 ju4 qu4 nian2 de5 shu4 ju4， zhou1 bian1 wang3 dian3 mei3 tian1 pai2 dui4 chao1"
            " guo4 er4 shi2 fen1 zhong1。",
        ),
        (
            "我补充一点，理财服务是利润最高的业务。",
            "wo3 bu3 chong1 yi4 dian3， li3 cai2 fu2 wu4 shi4 li4 run4 zui4 gao1 de5 ye4 wu4。",
        ),
        (
            "那我们先排个顺序：安全第一，选址第二。",
            "na4 wo3 men5 xian1 pai2 ge4 shun4 xu4： an1 quan2 di4 yi1， xuan3 zhi3 di4 er4。",
        ),
        ("你还没发表意见，你怎么看？", "ni3 hai2 mei2 fa1 biao3 yi4 jian4， ni3 zen3 me5 kan4？"),
        (
            "我不太同意，装修预算应该往后放。",
            "wo3 bu2 tai4 tong2 yi4， zhuang1 xiu1 yu4 suan4 ying1 gai1 wang3 hou4 fang4。",
        ),
        (
            "线上业务越来越多，网点面积可以小一点。",
            "xian4 shang4 ye4 wu4 yue4 lai2 yue4 duo1， wang3 dian3 mian4 ji1 ke3 yi3 xiao3 yi4"
            " dian3。",
        ),
        (
            "客户体验其实决定了口碑，口碑决定了客流。",
            "ke4 hu4 ti3 yan4 qi2 shi2 jue2 ding4 le5 kou3 bei1， kou3 bei1 jue2 ding4 le5 ke4"
            " liu2。",
        ),
        (
            "对，我们可以设一个专门的小微企业窗口。",
            "dui4， wo3 men5 ke3 yi3 she4 yi2 ge4 zhuan1 men2 de5 xiao3 wei1 qi3 ye4 chuang1"
            " kou3。",
        ),
        (
            "还有五分钟，我们需要统一一下结论。",
            "hai2 you3 wu3 fen1 zhong1， wo3 men5 xu1 yao4 tong3 yi1 yi2 xia4 jie2 lun4。",
        ),
        (
            "我总结一下：安全，选址，服务，这三项大家都同意。",
            "wo3 zong3 jie2 yi2 xia4： an1 quan2， xuan3 zhi3， fu2 wu4， zhe4 san1 xiang4 da4"
            " jia1 dou1 tong2 yi4。",
        ),
        (
            "如果预算有限，我建议先保证安保系统。",
            "ru2 guo3 yu4 suan4 you3 xian4， wo3 jian4 yi4 xian1 bao3 zheng4 an1 bao3 xi4 tong3。",
        ),
        (
            "社区里年轻人多，可以做一些手机银行的推广活动。",
            "she4 qu1 li3 nian2 qing1 ren2 duo1， ke3 yi3 zuo4 yi4 xie1 shou3 ji1 yin2 hang2 de5"
            " tui1 guang3 huo2 dong4。",
        ),
        (
            "这个想法很好，我在这个基础上再加一点。",
            "zhe4 ge4 xiang3 fa3 hen3 hao3， wo3 zai4 zhe4 ge4 ji1 chu3 shang4 zai4 jia1 yi4"
            " dian3。",
        ),
        (
            "我担心的是人手不够，开业第一个月会很忙。",
            "wo3 dan1 xin1 de5 shi4 ren2 shou3 bu2 gou4， kai1 ye4 di4 yi1 ge4 yue4 hui4 hen3"
            " mang2。",
        ),
        (
            "大家看一下材料，第三页有客流量的统计。",
            "da4 jia1 kan4 yi2 xia4 cai2 liao4， di4 san1 ye4 you3 ke4 liu2 liang4 de5 tong3 ji4。",
        ),
    ),
}

# Failed interruptions: rendered long enough (>= 1 s) to be cut to 1.0-2.0 s of speech. Said
# without the comma pause (a hurried interjection is one stretch of speech).
INTERJECTIONS: dict[str, tuple[Line, ...]] = {
    "en": tuple(
        (s, s.replace(",", ""))
        for s in (
            "But wait, I think that the",
            "Sorry, can I just say something",
            "Hold on, that is not what",
            "No, no, I think we should",
            "But the budget is really",
            "Can I add something here",
            "Well, actually the cost of",
            "I'm not so sure that",
        )
    ),
    "zh": (
        ("等一下，我觉得这个", "deng3 yi2 xia4 wo3 jue2 de5 zhe4 ge4"),
        ("不对，我觉得", "bu2 dui4 wo3 jue2 de5"),
        ("可是成本的问题", "ke3 shi4 cheng2 ben3 de5 wen4 ti2"),
        ("我插一句，其实", "wo3 cha1 yi4 ju4 qi2 shi2"),
        ("但是我们是不是", "dan4 shi4 wo3 men5 shi4 bu2 shi4"),
        ("那个，我想说", "na4 ge4 wo3 xiang3 shuo1"),
        ("不过安全方面", "bu2 guo4 an1 quan2 fang1 mian4"),
        ("我有不同意见", "wo3 you3 bu4 tong2 yi4 jian4"),
    ),
}

# Backchannels: short tokens that must render to <= 0.6 s of speech. "mm-hmm" is given as
# espeak phonemes because espeak spells the written form out as letters ("em em").
BACKCHANNELS: dict[str, tuple[Line, ...]] = {
    "en": (
        ("mm-hmm", "[[m,m'hm]]"),
        ("yeah", "yeah"),
        ("right", "right"),
        ("okay", "okay"),
        ("uh-huh", "uh-huh"),
        ("sure", "sure"),
    ),
    "zh": (
        ("嗯", "en4"),
        ("对", "dui4"),
        ("是的", "shi4 de5"),
        ("好", "hao3"),
        ("对对", "dui4 dui4"),
        ("没错", "mei2 cuo4"),
    ),
}

NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"m": ("Ben", "David", "Tom", "Raj"), "f": ("Alice", "Chloe", "Maria", "Sara")},
    "zh": {"m": ("张伟", "王强", "刘洋", "陈杰"), "f": ("李娜", "王芳", "赵敏", "孙丽")},
}
