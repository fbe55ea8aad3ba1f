"""Who travels: the party size in every common form, with children and older people noted.

The total is the group size when the text states one (一家四口, "six of us", "family of four",
"for two"); otherwise it is built from its parts: the writer and a companion (我和老公, "my wife and
I", a couple), plus counted children (带两个孩子, "2 kids") and parents (带爸妈, "with my parents").
Children and seniors matter beyond the count: the planner slows the pace for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numbers import EN_NUM, ZH_NUM, parse_number

_KID = r"(?:小孩|孩子|儿童|小朋友|娃娃|娃|宝宝|孩)"
_ZH_CHILDREN = re.compile(rf"({ZH_NUM})\s*(?:个|位|名)?\s*{_KID}")
_ZH_ADULTS = re.compile(rf"({ZH_NUM})\s*(?:个|位|名)?\s*(?:大人|成人)")
_ZH_SENIORS = re.compile(rf"({ZH_NUM})\s*(?:个|位|名)?\s*(?:老人|老年人)")
_ZH_PEOPLE = re.compile(rf"({ZH_NUM})\s*(?:个|位|名)?\s*(?:人)(?!民)")
_ZH_WE = re.compile(rf"(?:我们|咱们)\s*({ZH_NUM})\s*(?:个|位)")
_ZH_FAMILY = re.compile(rf"一家\s*({ZH_NUM})\s*口")
_ZH_PAIR = re.compile(r"(?:我|俺)(?:和|跟|与|带着?)\s*(?:老公|老婆|妻子|丈夫|太太|先生|爱人|媳妇|女朋友|男朋友|"
                      r"对象|闺蜜|朋友|同事|同学|妈妈|爸爸|我妈|我爸|女儿|儿子)|情侣|夫妻|两口子|小两口|蜜月")
_ZH_ANY_KID = re.compile(r"带\s*(?:着)?\s*(?:孩子|娃|小孩|宝宝|儿童)|亲子|遛娃")
_ZH_PARENTS = re.compile(r"(?:带|和|跟|陪)\s*(?:上|着)?\s*(?:爸妈|父母|老爸老妈|爸爸妈妈)")
_ZH_ONE_SENIOR = re.compile(r"(?:带|和|跟|陪)\s*(?:上|着)?\s*(?:奶奶|爷爷|外婆|外公|姥姥|姥爷|老人家?|老妈|老爸)")
_ZH_SOLO = re.compile(r"一个人|独自|自己去|单人")

_EN_KIDS = re.compile(rf"(?<![\d.a-z])({EN_NUM})\s+(?:kids?|children|child|toddlers?|babies|baby)\b", re.I)
_EN_ADULTS = re.compile(rf"(?<![\d.a-z])({EN_NUM})\s+(?:adults?|grown-ups)\b", re.I)
_EN_SENIORS = re.compile(rf"(?<![\d.a-z])({EN_NUM})\s+(?:seniors?|elderly|grandparents)\b", re.I)
_EN_PEOPLE = re.compile(rf"(?<![\d.a-z])({EN_NUM})\s+(?:people|persons|pax|travell?ers|guests|friends)\b", re.I)
_EN_GROUP = re.compile(
    rf"\b(?:family\s+of|group\s+of|party\s+of|we\s+are|we're)\s+({EN_NUM})\b|\b({EN_NUM})\s+of\s+us\b"
    rf"|\bfor\s+({EN_NUM})(?!\s*(?:days?|nights?|weeks?|months?|hours?|adults?|kids?|children|people|persons"
    r"|pax|travell?ers|guests|friends|seniors?|elderly|:|am|pm|\.|/))\b",
    re.I,
)
_EN_PAIR = re.compile(
    r"\b(?:couple|honeymoon|my\s+(?:wife|husband|partner|girlfriend|boyfriend|fianc[eé]e?|friend|mom|mum|dad)"
    r"\s+and\s+i|(?:me|i)\s+and\s+my\s+(?:wife|husband|partner|girlfriend|boyfriend|friend|mom|mum|dad)"
    r"|with\s+my\s+(?:wife|husband|partner|girlfriend|boyfriend|friend))\b",
    re.I,
)
_EN_ANY_KID = re.compile(r"\bwith\s+(?:the\s+|our\s+|my\s+)?(?:kids|children|toddlers?|baby|son|daughter)\b", re.I)
_EN_PARENTS = re.compile(r"\bwith\s+(?:my|our)\s+(?:elderly\s+)?parents\b|\bwith\s+(?:my|our)\s+grandparents\b", re.I)
_EN_ONE_SENIOR = re.compile(
    r"\bwith\s+(?:my|our)\s+(?:grandma|grandmother|grandpa|grandfather|elderly\s+(?!parents|grandparents)\w+)\b",
    re.I,
)
_EN_SOLO = re.compile(r"\b(?:solo|alone|by\s+myself|just\s+me|on\s+my\s+own)\b", re.I)
MAX_PARTY = 100


@dataclass(frozen=True)
class Party:
    """The travelling party as the text describes it."""

    total: int
    children: int = 0
    seniors: int = 0


def _count(token: str | None) -> int:
    if not token:
        return 0
    return 1 if token.lower() in ("a", "an") else parse_number(token) or 0


def _sum(pattern: re.Pattern[str], text: str) -> int:
    return sum(_count(m[1]) for m in pattern.finditer(text))


def _group(text: str) -> int | None:
    for pattern in (_ZH_FAMILY, _ZH_WE):
        if match := pattern.search(text):
            return parse_number(match[1])
    if match := _EN_GROUP.search(text):
        return _count(next(g for g in match.groups() if g))
    return None


def party_of(text: str) -> Party | None:
    """The party the text describes, or None when it does not say (the default is one traveller)."""
    children = _sum(_ZH_CHILDREN, text) + _sum(_EN_KIDS, text)
    if not children and (_ZH_ANY_KID.search(text) or _EN_ANY_KID.search(text)):
        children = 1  # "带娃" / "with the kids": at least one child, count unknown
    seniors = _sum(_ZH_SENIORS, text) + _sum(_EN_SENIORS, text)
    seniors += 2 * bool(_ZH_PARENTS.search(text) or _EN_PARENTS.search(text))
    seniors += bool(_ZH_ONE_SENIOR.search(text) or _EN_ONE_SENIOR.search(text))
    adults = _sum(_ZH_ADULTS, text) + _sum(_EN_ADULTS, text)
    people = _sum(_ZH_PEOPLE, text) + _sum(_EN_PEOPLE, text)
    group = _group(text)
    pair = bool(_ZH_PAIR.search(text) or _EN_PAIR.search(text))
    if group is not None:
        base = group  # "我们两个带爸妈": the two of us, then the parents on top
        total = base + seniors if (_ZH_WE.search(text) and seniors) else max(base, children + seniors + adults)
    elif adults or people:
        total = adults + people + children + seniors if adults else max(people, children + seniors)
    elif pair:
        total = 2 + children + seniors
    elif children or seniors:
        total = 1 + children + seniors  # the writer takes them along
    elif _ZH_SOLO.search(text) or _EN_SOLO.search(text):
        total = 1
    else:
        return None
    if not 1 <= total <= MAX_PARTY:
        return None
    return Party(total, min(children, total), min(seniors, total))
